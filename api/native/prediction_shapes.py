"""The native API's prediction answers as published models: the prediction object (Replicate's,
plus sdq's fields), a page of them, and a prediction's webhook deliveries."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from sdq.store.webhooks import Delivery

# Replicate's status names for sdq's states (`JobStatus.replicate_name`).
PredictionStatus = Literal["starting", "processing", "succeeded", "failed", "canceled", "aborted"]
Timestamp = Annotated[
    str, Field(json_schema_extra={"format": "date-time"}, description="ISO 8601, UTC")
]


class PredictionUrls(BaseModel):
    get: str = Field(description="This prediction")
    cancel: str = Field(description="POST here to cancel it")
    stream: str = Field(description="Its events as `text/event-stream`")


class PredictionMetrics(TypedDict, total=False):
    """Timings in seconds, each present once known (a queued prediction has none)."""

    queue_wait: float
    predict_time: float
    total_time: float


class Prediction(BaseModel):
    """A prediction as Replicate's API answers it, plus sdq's `attempt`, `retry_of`, `priority`
    and queue place."""

    id: str
    model: str = Field(description="The served model, `owner/name`")
    version: str = Field(description="The same as `model` (sdq serves one version per model)")
    input: dict[str, Any] = Field(description="The input, its defaults filled in")
    output: list[str] | None = Field(description="Links to the images (signed, expiring)")
    error: str | None
    logs: str
    status: PredictionStatus = Field(
        description="`aborted` reads `canceled` to clients that do not know it (Replicate's)"
    )
    source: Literal["api"]
    data_removed: bool
    created_at: Timestamp
    started_at: Timestamp | None
    completed_at: Timestamp | None
    urls: PredictionUrls
    metrics: PredictionMetrics
    attempt: int = Field(description="Runs started so far (a lost worker's job runs again)")
    retry_of: str | None = Field(description="The prediction this one repeats (retry)")
    priority: int = Field(description="0 (most urgent) to 2")
    queue_position: int | None = Field(
        description="While queued: jobs taken before it (0: next); null once started"
    )
    eta: Timestamp | None = Field(description="While queued: when it should be done (estimate)")


class PredictionPage(BaseModel):
    """One page of predictions, newest first; follow `next` until it is null."""

    previous: None = Field(description="Always null: pages go forward only")
    next: str | None
    results: list[Prediction]


class WebhookDeliveries(BaseModel):
    """Every webhook message of a prediction, with each delivery attempt."""

    results: list[Delivery]
