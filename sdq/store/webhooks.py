"""Webhook deliveries in Redis: claiming due ones under lease, recording attempts, rescheduling,
dropping due entries whose delivery is gone, and how long new delivery records are kept."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field, field_validator

from sdq.store import redis_keys as keys
from sdq.store.ops import Op, lua


class DeliveryAttempt(BaseModel):
    at: float
    status_code: int | None = None
    error: str | None = None
    duration_ms: float


class Delivery(BaseModel):
    """One webhook message (its id is the `webhook-id` header, stable across retries)."""

    id: str
    event: str
    state: str = "pending"  # pending | delivered | gave_up
    best_effort: bool = False
    created_at: float
    reason: str | None = None
    attempts: list[DeliveryAttempt] = Field(default_factory=list)

    @field_validator("attempts", mode="before")
    @classmethod
    def _lua_empty_table(cls, value: object) -> object:
        return [] if value == {} else value  # cjson writes an empty Lua table as {}


_CLAIM_DUE = lua("webhooks_claim_due.lua")
_RECORD = lua("webhooks_schedule.lua", "webhooks_record.lua")
_DROP = lua("webhooks_drop.lua")
_NEXT_DUE = lua("webhooks_next_due.lua")


def member(job_id: str, delivery_id: str) -> str:
    return f"{job_id}|{delivery_id}"


def claim_due(now: float, lease_s: float, limit: int = 100) -> Op[list[tuple[str, str]]]:
    def decode(raw: list[str]) -> list[tuple[str, str]]:
        return [tuple(m.split("|", 1)) for m in raw]  # type: ignore[misc]

    return Op(
        keys=(keys.webhooks_due(),),
        args=(repr(now), repr(lease_s), str(limit)),
        decode=decode,
        script=_CLAIM_DUE,
    )


def next_due_at() -> Op[float | None]:
    """When the earliest delivery is due (unix seconds), or None when none is scheduled."""
    return Op(
        keys=(keys.webhooks_due(),),
        args=(),
        decode=lambda raw: float(raw) if raw else None,
        script=_NEXT_DUE,
    )


def wait_for_due(timeout_s: float) -> Op[bool]:
    """Block until a delivery is scheduled or rescheduled (a nudge), or `timeout_s` passes."""
    return Op(keys=(), args=("BLPOP", keys.webhooks_wake(), repr(timeout_s)), decode=bool)


def get_delivery(job_id: str, delivery_id: str) -> Op[Delivery | None]:
    return Op(
        keys=(),
        args=("HGET", keys.job_webhooks(job_id), delivery_id),
        decode=lambda raw: Delivery.model_validate(json.loads(raw)) if raw else None,
    )


def list_deliveries(job_id: str) -> Op[list[Delivery]]:
    def decode(raw: Any) -> list[Delivery]:
        pairs = raw.values() if isinstance(raw, dict) else raw[1::2]
        found = [Delivery.model_validate(json.loads(doc)) for doc in pairs]
        return sorted(found, key=lambda d: d.created_at)

    return Op(keys=(), args=("HGETALL", keys.job_webhooks(job_id)), decode=decode)


def record_attempt(
    job_id: str,
    delivery: Delivery,
    next_due: float | None,
    *,
    retention_s: int,
    keep_s: int = 0,
) -> Op[bool]:
    """Save the delivery after an attempt; reschedule it, or take it off the due set.

    The job's webhooks hash is kept at least `retention_s` from now; a rescheduled delivery's
    hash and job at least `keep_s` (until its last possible attempt). A TTL never shrinks.
    """
    return Op(
        keys=(
            keys.job_webhooks(job_id),
            keys.webhooks_due(),
            keys.webhooks_wake(),
            keys.job(job_id),
        ),
        args=(
            delivery.id,
            member(job_id, delivery.id),
            delivery.model_dump_json(),
            "" if next_due is None else repr(next_due),
            str(retention_s),
            str(keep_s if next_due is not None else 0),
        ),
        decode=lambda raw: int(raw) == 1,
        script=_RECORD,
    )


def drop_due(job_id: str, delivery_id: str, *, unreadable: bool = False) -> Op[bool]:
    """Take a delivery off the due set if its record is gone (or, `unreadable`, cannot be read):
    nothing is left to deliver, and it must not be handed out again every lease."""
    return Op(
        keys=(keys.job_webhooks(job_id), keys.webhooks_due()),
        args=(delivery_id, member(job_id, delivery_id), "1" if unreadable else ""),
        decode=lambda raw: int(raw) == 1,
        script=_DROP,
    )


def publish_schedule_keep(seconds: int) -> Op[bool]:
    """How long a newly scheduled guaranteed delivery (and its job) must be kept: its whole retry
    schedule. The webhook service publishes it from its settings; the job scripts read it."""
    return Op(keys=(), args=("SET", keys.webhooks_keep(), str(seconds)), decode=bool)
