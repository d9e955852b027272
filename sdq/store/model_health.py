"""Model health: a model's failed loads in a row, why the last one failed, and when to try again."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from sdq.settings import Settings
from sdq.store import redis_keys as keys
from sdq.store.codec import pairs
from sdq.store.ops import Op, lua


class ModelStatus(StrEnum):
    AVAILABLE = "available"  # no failed load since the last one that succeeded
    UNAVAILABLE = "unavailable"  # the last load failed


@dataclass(frozen=True)
class LoadRetry:
    """How a failing model is retried: the wait before the next load doubles with each failure
    in a row, up to a cap; after `max_failures` in a row its jobs fail and new ones are refused."""

    backoff_s: float = 10.0
    backoff_max_s: float = 300.0
    max_failures: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> LoadRetry:
        return cls(
            settings.model_load_backoff_s,
            settings.model_load_backoff_max_s,
            settings.model_load_max_failures,
        )

    def delay_s(self, attempts: int) -> float:
        """The wait after `attempts` failed loads in a row (none after none)."""
        if attempts <= 0:
            return 0.0
        return min(self.backoff_max_s, self.backoff_s * 2.0 ** min(attempts - 1, 64))


class ModelHealth(BaseModel):
    """What the store knows about loading one model (all defaults: nothing failed)."""

    model: str
    status: ModelStatus = ModelStatus.AVAILABLE
    cause: str | None = None
    error: str | None = None
    since: float | None = None  # the first failure of the row
    attempts: int = 0  # failed loads in a row
    failed_at: float | None = None  # the latest one

    def next_load_at(self, retry: LoadRetry) -> float | None:
        """When a worker may try to load the model again; None when nothing failed."""
        if self.failed_at is None:
            return None
        return self.failed_at + retry.delay_s(self.attempts)

    def refuses_jobs(self, retry: LoadRetry) -> bool:
        """Too many failures in a row: its jobs fail, new ones are refused, until a load works."""
        return self.attempts >= retry.max_failures


_RECORD_FAILURE = lua("model_health_record_failure.lua")


def _decode(model_id: str) -> Any:
    def decode(raw: Any) -> ModelHealth:
        fields = raw if isinstance(raw, dict) else pairs(raw or [])
        return ModelHealth.model_validate({"model": model_id} | fields)

    return decode


def get_health(model_id: str) -> Op[ModelHealth]:
    return Op(keys=(), args=("HGETALL", keys.model_health(model_id)), decode=_decode(model_id))


def record_failure(model_id: str, cause: str, error: str, now: float) -> Op[ModelHealth]:
    """Count one more failed load in a row; the reply is the record after it."""
    return Op(
        keys=(keys.model_health(model_id),),
        args=(cause, error, repr(now)),
        decode=_decode(model_id),
        script=_RECORD_FAILURE,
    )


def record_loaded(model_id: str) -> Op[bool]:
    """The model loaded: the row of failures is over."""
    return Op(keys=(), args=("DEL", keys.model_health(model_id)), decode=bool)
