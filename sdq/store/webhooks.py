"""Webhook deliveries in Redis: claiming due ones under a lease, recording attempts, rescheduling."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field, field_validator

from sdq import keys
from sdq.store import Op


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


# KEYS: due set; ARGV: now, lease_s, limit. Takes due entries and pushes them a lease into the
# future, so two takers never hold the same one; returns the taken members.
_CLAIM_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for i = 1, #due do
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), due[i])
end
return due
"""

# KEYS: job webhooks hash, due set, wake list; ARGV: delivery id, member, record JSON,
#       next due ('' = done: leave the due set). Only a pending delivery is updated.
_RECORD = """
local doc = redis.call('HGET', KEYS[1], ARGV[1])
if not doc then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 0
end
if cjson.decode(doc)['state'] ~= 'pending' then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), ARGV[2])
  redis.call('LPUSH', KEYS[3], '1')
  redis.call('LTRIM', KEYS[3], 0, 0)
end
return 1
"""


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


_NEXT_DUE = """
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then return false end
return first[2]
"""


def next_due_at() -> Op[float | None]:
    """When the earliest delivery is due (unix seconds), or None when none is scheduled."""
    return Op(
        keys=(keys.webhooks_due(),),
        args=(),
        decode=lambda raw: float(raw) if raw else None,
        script=_NEXT_DUE,
    )


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


def record_attempt(job_id: str, delivery: Delivery, next_due: float | None) -> Op[bool]:
    """Save the delivery after an attempt; reschedule it, or take it off the due set."""
    return Op(
        keys=(keys.job_webhooks(job_id), keys.webhooks_due(), keys.webhooks_wake()),
        args=(
            delivery.id,
            member(job_id, delivery.id),
            delivery.model_dump_json(),
            "" if next_due is None else repr(next_due),
        ),
        decode=lambda raw: int(raw) == 1,
        script=_RECORD,
    )
