"""The native API's model answers as published models: a served model (Replicate's fields plus
its queue, workers and health), the list of them, and its scaling signal for KEDA."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from sdq.families import Family
from sdq.settings import ModelKind
from sdq.store.model_health import ModelStatus


class SizeLimits(BaseModel):
    min_size: int = Field(description="Smallest width or height accepted")
    max_size: int = Field(description="Largest width or height accepted")


class InputDefaults(BaseModel):
    """What a request that leaves a field out gets: the model's own defaults over its family's."""

    width: int
    height: int
    num_inference_steps: int
    guidance_scale: float
    scheduler: str


class Model(BaseModel):
    """A served model: what Replicate's model call answers, with its queue, workers, the scaler's
    latest decision and whether its workers can load it."""

    owner: str
    name: str
    id: str = Field(description="`owner/name`")
    url: str
    visibility: Literal["public"]
    kind: ModelKind
    description: str | None
    queued: int = Field(description="Jobs waiting")
    in_flight: int = Field(description="Jobs running (each job of a batch counts)")
    workers: int = Field(description="Live workers (by heartbeat)")
    desired: int | None = Field(description="The scaler's latest decision (null: none yet)")
    scaling_reason: str | None = Field(description="Why it decided so")
    status: ModelStatus = Field(description="`unavailable` while its last load failed")
    error: str | None = Field(description="The cause of the failed loads, in one line")
    since: str | None = Field(description="When the failed loads began (ISO 8601, UTC)")
    attempts: int = Field(description="Failed loads in a row")
    limits: SizeLimits
    loras: list[str] = Field(
        description="Its LoRA adapters (`input.loras[].name`): the files of its adapters folder"
    )
    family: Family | None = Field(
        description="sd15, sdxl, sd3 or flux: its defaults and rules (null: not said in its "
        "spec, served with SD 1.x's)"
    )
    defaults: InputDefaults = Field(description="What a request that leaves a field out gets")
    schedulers: list[str] = Field(description="The `input.scheduler` values it takes")


class ModelPage(BaseModel):
    """Every served model, on one page."""

    previous: None = Field(description="Always null: one page")
    next: None = Field(description="Always null: one page")
    results: list[Model]


class ScalingSignal(BaseModel):
    """A model's scaling signal, in a shape KEDA's `metrics-api` trigger reads."""

    model: str
    queued: int = Field(description="Jobs waiting")
    in_flight: int = Field(description="Jobs running (each job of a batch counts)")
    work: int = Field(description="queued + in_flight: does not drop to zero while a job runs")
    workers: int = Field(description="Live workers")
    oldest_queued_age_s: float | None = Field(description="Seconds the oldest queued job waited")
    desired: int | None = Field(description="sdq's scaler's latest decision (null: none runs)")
