"""How long a model's work takes, measured: recent predict times of its jobs and recent cold starts
of its workers (for Retry-After and queue ETAs)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from sdq.store import redis_keys as keys
from sdq.store.ops import Op, lua

_READ = lua("model_timings_read.lua")
_RECORD = lua("model_timings_record.lua")
# Recent jobs (of every model) looked at for the model's median predict time.
PREDICT_SAMPLE = 200
# Cold starts kept per model (the median of these is used).
COLD_START_SAMPLE = 20


@dataclass(frozen=True)
class ModelTimings:
    p50_predict_s: float | None  # median predict time of the recent succeeded jobs; None: none
    p50_cold_start_s: float | None  # median of the recent cold starts; None: none measured


def _median(values: list[Any]) -> float | None:
    return statistics.median(float(value) for value in values) if values else None


def model_timings(model_id: str) -> Op[ModelTimings]:
    return Op(
        keys=(keys.jobs_index(), keys.model_cold_starts(model_id)),
        args=(model_id, keys.job(""), str(PREDICT_SAMPLE)),
        decode=lambda raw: ModelTimings(_median(raw[1]), _median(raw[0])),
        script=_READ,
    )


def record_cold_start(model_id: str, seconds: float) -> Op[None]:
    """Remember one worker's cold start (the newest COLD_START_SAMPLE are kept)."""
    return Op(
        keys=(keys.model_cold_starts(model_id),),
        args=(f"{seconds:.3f}", str(COLD_START_SAMPLE)),
        decode=lambda raw: None,
        script=_RECORD,
    )
