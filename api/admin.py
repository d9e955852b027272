"""Operator endpoints: read and replace a model's scaling policy live; the scaling history;
each model's queue and workers over the last hour."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import ValidationError

from api.admin_shapes import CapacityHistory, CapacitySample, ScalingHistory
from api.auth import Admin
from api.deps import Runtime, ServedModel
from api.json_route import StrictJsonRoute
from sdq.inputs import InvalidInput, invalid_fields
from sdq.prediction import iso_time
from sdq.scaling_policy import ScalingPolicy
from sdq.store.capacity_history import HISTORY_KEEP_S, read_history
from sdq.store.scaling import get_policy, policy_changes, put_policy, scaling_events

router = APIRouter(tags=["admin"], prefix="/v1/admin", route_class=StrictJsonRoute)


@router.get("/models/{owner}/{name}/scaling")
async def get_scaling(spec: ServedModel, runtime: Runtime) -> ScalingPolicy:
    return await runtime.store.run(get_policy(spec.id, spec.scaling))


@router.put("/models/{owner}/{name}/scaling")
async def put_scaling(
    spec: ServedModel,
    runtime: Runtime,
    body: Annotated[dict[str, Any], Body(description="The whole ScalingPolicy object")],
    caller: Admin,
) -> ScalingPolicy:
    """Replace the policy; the scaler uses it from its next tick, submits within a second. The
    change is recorded with the name of the admin key that made it."""
    try:
        policy = ScalingPolicy.model_validate(body)
    except ValidationError as error:
        problems = invalid_fields(
            error, prefix="", whole="policy", unknown="is not a scaling policy knob"
        )
        raise InvalidInput(problems) from None
    await runtime.store.run(
        put_policy(
            spec.id, policy, caller.name, time.time(), key_id=caller.key_id, default=spec.scaling
        )
    )
    runtime.recent.forget(get_policy(spec.id, spec.scaling))  # this process's submits: at once
    return policy


@router.get("/scaling/events")
async def get_scaling_events(
    runtime: Runtime, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> ScalingHistory:
    """Newest first: worker-count changes (time, model, from, to, reason) and policy changes
    (who, when, before, after)."""
    events = await runtime.store.run(scaling_events(limit))
    changes = await runtime.store.run(policy_changes(limit))
    return ScalingHistory.model_validate({"events": events, "policy_changes": changes})


@router.get("/models/{owner}/{name}/history")
async def get_history(
    spec: ServedModel,
    runtime: Runtime,
    seconds: Annotated[int, Query(ge=1, le=int(HISTORY_KEEP_S))] = int(HISTORY_KEEP_S),
) -> CapacityHistory:
    """Oldest first, one sample per `interval_s` over the last `seconds` (at most an hour): jobs
    queued and in flight, workers up, the scaler's desired count (null when no scaler runs). A
    gap means no API ran or Redis was away."""
    now = time.time()
    samples = await runtime.store.run(read_history(spec.id, now - seconds))
    return CapacityHistory(
        model=spec.id,
        now=iso_time(now),
        interval_s=runtime.settings.history_interval_s,
        samples=[
            CapacitySample(
                time=iso_time(sample.at),
                queued=sample.queued,
                in_flight=sample.in_flight,
                workers=sample.workers,
                desired=sample.desired,
            )
            for sample in samples
        ],
    )
