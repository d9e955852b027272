"""Scaling policies in Redis: read every tick, changed live by operators, every change recorded."""

from __future__ import annotations

import json
from typing import Any

from sdq.scaling_policy import ScalingPolicy
from sdq.store import redis_keys as keys
from sdq.store.ops import Op, OpRunner, lua

EVENTS_MAXLEN = 10_000
DECISION_TTL_S = 120

_PUT = lua("scaling_put_policy.lua")


def get_policy(model_id: str, default: ScalingPolicy) -> Op[ScalingPolicy]:
    """The stored policy, or `default` when none was set yet."""
    return Op(
        keys=(),
        args=("GET", keys.scaling_policy(model_id)),
        decode=lambda raw: ScalingPolicy.model_validate_json(raw) if raw else default,
    )


def put_policy(
    model_id: str,
    policy: ScalingPolicy,
    who: str,
    now: float,
    key_id: str | None = None,
    default: ScalingPolicy | None = None,
) -> Op[str]:
    """Replace the policy and record the change: `who` (the admin key's name), `key_id` (which
    of that name's keys; None without keys) and the policy it replaced (`default`, the one in
    effect, when none was stored yet)."""
    change = {
        "model": model_id,
        "who": who,
        "key_id": key_id,
        "at": now,
        "after": policy.model_dump_json(),
    }
    return Op(
        keys=(keys.scaling_policy(model_id), keys.scaling_policy_changes()),
        args=(
            policy.model_dump_json(),
            json.dumps(change),
            default.model_dump_json() if default is not None else "",
        ),
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


def load_policy(store: OpRunner, model_id: str, default: ScalingPolicy) -> ScalingPolicy:
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


def wait_for_wake(timeout_s: float) -> Op[bool]:
    """Block until the store's create nudges the scaler (a model's queue stopped being empty),
    or `timeout_s` passes; True when nudged."""
    return Op(keys=(), args=("BLPOP", keys.scaler_wake(), repr(timeout_s)), decode=bool)


def clear_wake() -> Op[int]:
    """Drop the other nudges of the same burst: one tick counts them all."""
    return Op(keys=(), args=("DEL", keys.scaler_wake()), decode=int)


def record_scaling(model_id: str, before: int, after: int, reason: str, now: float) -> Op[str]:
    """Record a change of the model's desired worker count, with its reason."""
    event = {"model": model_id, "from": before, "to": after, "reason": reason, "at": now}
    command = ("XADD", keys.scaling_events(), "MAXLEN", "~", str(EVENTS_MAXLEN), "*")
    return Op(keys=(), args=(*command, "event", json.dumps(event)), decode=str)


def publish_decision(model_id: str, desired: int, current: int, reason: str, now: float) -> Op[str]:
    """The scaler's latest decision, for `GET /v1/models` and KEDA's metrics endpoint."""
    doc = {"desired": desired, "current": current, "reason": reason, "at": now}
    key = keys.scaling_desired(model_id)
    return Op(keys=(), args=("SET", key, json.dumps(doc), "EX", str(DECISION_TTL_S)), decode=str)
