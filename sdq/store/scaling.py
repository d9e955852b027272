"""Scaling policies in Redis: read every tick, changed live by operators, every change recorded."""

from __future__ import annotations

import json
from typing import Any

from sdq import keys
from sdq.scaling_policy import ScalingPolicy
from sdq.store import JobStore, Op

_CHANGES_MAXLEN = 10_000

# KEYS: policy, changes stream; ARGV: new policy JSON, change record JSON (without "before").
_PUT = """
local before = redis.call('GET', KEYS[1]) or ''
redis.call('SET', KEYS[1], ARGV[1])
local change = cjson.decode(ARGV[2])
change['before'] = before
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, '*', 'change', cjson.encode(change))
return before
"""


def get_policy(model_id: str, default: ScalingPolicy) -> Op[ScalingPolicy]:
    """The stored policy, or `default` when none was set yet."""
    return Op(
        keys=(),
        args=("GET", keys.scaling_policy(model_id)),
        decode=lambda raw: ScalingPolicy.model_validate_json(raw) if raw else default,
    )


def put_policy(model_id: str, policy: ScalingPolicy, who: str, now: float) -> Op[str]:
    change = {"model": model_id, "who": who, "at": now, "after": policy.model_dump_json()}
    return Op(
        keys=(keys.scaling_policy(model_id), keys.scaling_policy_changes()),
        args=(policy.model_dump_json(), json.dumps(change)),
        decode=lambda raw: str(raw or ""),
        script=_PUT,
    )


def _newest_json_entries(stream: str, field: str, count: int) -> Op[list[dict[str, Any]]]:
    """The newest entries of a stream whose `field` holds a JSON object, each with its id."""

    def decode(raw: list[Any]) -> list[dict[str, Any]]:
        return [json.loads(fields[field]) | {"id": entry_id} for entry_id, fields in raw]

    return Op(keys=(), args=("XREVRANGE", stream, "+", "-", "COUNT", str(count)), decode=decode)


def policy_changes(count: int = 100) -> Op[list[dict[str, Any]]]:
    """The newest policy changes (who, when, model, before, after)."""
    return _newest_json_entries(keys.scaling_policy_changes(), "change", count)


def load_policy(store: JobStore, model_id: str, default: ScalingPolicy) -> ScalingPolicy:
    return store.run(get_policy(model_id, default))


def scaling_events(count: int = 100) -> Op[list[dict[str, Any]]]:
    """The newest scaling decisions that changed a model's worker count."""
    return _newest_json_entries(keys.scaling_events(), "event", count)


def latest_decision(model_id: str) -> Op[dict[str, Any] | None]:
    """The scaler's latest decision for the model, or None when no scaler runs."""
    return Op(
        keys=(),
        args=("GET", keys.scaling_desired(model_id)),
        decode=lambda raw: json.loads(raw) if raw else None,
    )
