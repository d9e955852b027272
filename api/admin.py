"""Operator endpoints: read and replace a model's scaling policy live; the scaling history."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query
from pydantic import ValidationError

from api.deps import State
from api.errors import NotFound
from sdq.inputs import InvalidInput, invalid_fields
from sdq.scaling_policy import ScalingPolicy
from sdq.scaling_policy_store import get_policy, policy_changes, put_policy, scaling_events
from sdq.settings import ModelSpec

router = APIRouter(tags=["admin"], prefix="/v1/admin")


def _spec(state: State, owner: str, name: str) -> ModelSpec:
    spec = state.settings.model(f"{owner}/{name}")
    if spec is None:
        served = ", ".join(m.id for m in state.settings.models)
        raise NotFound(f"model {owner}/{name} is not served here; served models: {served}")
    return spec


@router.get("/models/{owner}/{name}/scaling")
async def get_scaling(owner: str, name: str, state: State) -> dict[str, Any]:
    spec = _spec(state, owner, name)
    policy = await state.store.run(get_policy(spec.id, spec.scaling))
    return policy.model_dump()


@router.put("/models/{owner}/{name}/scaling")
async def put_scaling(
    owner: str,
    name: str,
    state: State,
    body: Annotated[dict[str, Any], Body(description="The whole ScalingPolicy object")],
    actor: Annotated[str | None, Header(alias="X-Sdq-Actor", max_length=200)] = None,
) -> dict[str, Any]:
    """Replace the policy; the scaler uses it from its next tick. The change is recorded."""
    spec = _spec(state, owner, name)
    try:
        policy = ScalingPolicy.model_validate(body)
    except ValidationError as error:
        raise InvalidInput(invalid_fields(error, prefix="", whole="policy")) from None
    await state.store.run(put_policy(spec.id, policy, actor or "api", time.time()))
    return policy.model_dump()


@router.get("/scaling/events")
async def get_scaling_events(
    state: State, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    """Newest first: worker-count changes (time, model, from, to, reason) and policy changes
    (who, when, before, after)."""
    return {
        "events": await state.store.run(scaling_events(limit)),
        "policy_changes": await state.store.run(policy_changes(limit)),
    }
