"""What one bench request came to: when it was sent, how long it took, its HTTP status or
transport error, and the sdq prediction behind it with that prediction's timings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """One request. Times are seconds on the bench's clock (0: the run's start); `status` is
    None when no response came (`error` says why). `finished` is whether the prediction was
    terminal when the request's latency stopped (None: not known, another server); the
    queue wait and predict time are the prediction's `metrics` (None: not read)."""

    sent_s: float
    latency_s: float
    status: int | None = None
    error: str | None = None
    prediction_id: str | None = None
    finished: bool | None = None
    queue_wait_s: float | None = None
    predict_time_s: float | None = None

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def has_split(self) -> bool:
        return self.queue_wait_s is not None and self.predict_time_s is not None

    def with_metrics(self, metrics: tuple[float, float] | None) -> Outcome:
        if metrics is None:
            return self
        return replace(self, queue_wait_s=metrics[0], predict_time_s=metrics[1])

    def as_json(self) -> dict[str, Any]:
        return {
            "sent_s": round(self.sent_s, 4),
            "latency_s": round(self.latency_s, 4),
            "status": self.status,
            "error": self.error,
            "prediction_id": self.prediction_id,
            "finished": self.finished,
            "queue_wait_s": self.queue_wait_s,
            "predict_time_s": self.predict_time_s,
        }


# (seconds since the run's start, live workers of the model) from GET /v1/models/{id}, read
# every SAMPLE_EVERY_S; the first at 0 s, before any request is sent.
Sample = tuple[float, int]
SAMPLE_EVERY_S = 1.0
