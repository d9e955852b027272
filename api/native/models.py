"""The served models, with their queue depth and workers."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter

from api.deps import BaseUrl, State
from api.errors import NotFound
from sdq import heartbeat
from sdq.heartbeat import Heartbeat, model_workers
from sdq.scaling_policy_store import latest_decision
from sdq.settings import ModelSpec
from sdq.store import queued_summary

router = APIRouter(tags=["models"])


def _model(
    spec: ModelSpec,
    base_url: str,
    queued: int,
    workers: list[Heartbeat],
    decision: dict[str, Any] | None,
) -> dict[str, Any]:
    mine, in_flight = model_workers(workers, spec.id)
    return {
        "owner": spec.owner,
        "name": spec.name,
        "id": spec.id,
        "url": f"{base_url}/v1/models/{spec.id}",
        "visibility": "public",
        "kind": spec.kind,
        "description": "synthetic load-test model: sleeps per step, placeholder images"
        if spec.kind == "synthetic"
        else None,
        "queued": queued,
        "in_flight": in_flight,
        "workers": len(mine),
        "desired": decision["desired"] if decision else None,
        "limits": {"min_size": spec.min_size, "max_size": spec.max_size},
    }


async def _describe(state: State, base_url: str, specs: list[ModelSpec]) -> list[dict[str, Any]]:
    settings = state.settings
    workers = await state.store.run(heartbeat.live_workers(time.time(), settings.heartbeat_ttl_s))
    described = []
    for spec in specs:
        queued, _ = await state.store.run(queued_summary(spec.id))
        decision = await state.store.run(latest_decision(spec.id))
        described.append(_model(spec, base_url, queued, workers, decision))
    return described


@router.get("/v1/models")
async def list_models(state: State, base_url: BaseUrl) -> dict[str, Any]:
    results = await _describe(state, base_url, state.settings.models)
    return {"previous": None, "next": None, "results": results}


@router.get("/v1/models/{owner}/{name}")
async def get_model(owner: str, name: str, state: State, base_url: BaseUrl) -> dict[str, Any]:
    spec = state.settings.model(f"{owner}/{name}")
    if spec is None:
        raise NotFound(f"model {owner}/{name} is not served here")
    return (await _describe(state, base_url, [spec]))[0]
