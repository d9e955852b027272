"""The served models, with their queue depth, workers, and whether they can be loaded."""

from __future__ import annotations

import time
from typing import Any

from anyio import to_thread
from fastapi import APIRouter

from api.deps import BaseUrl, Runtime, ServedModel
from api.native.model_shapes import InputDefaults, Model, ModelPage, SizeLimits
from sdq.adapters import model_adapters
from sdq.prediction import iso_time
from sdq.settings import ModelSpec
from sdq.store import heartbeats
from sdq.store.heartbeats import Heartbeat, model_workers
from sdq.store.jobs import queued_summary
from sdq.store.model_health import ModelHealth, get_health
from sdq.store.scaling import latest_decision

router = APIRouter(tags=["models"])


def _model(
    spec: ModelSpec,
    base_url: str,
    queued: int,
    workers: list[Heartbeat],
    decision: dict[str, Any] | None,
    health: ModelHealth,
    loras: tuple[str, ...],
) -> Model:
    mine, in_flight = model_workers(workers, spec.id)
    return Model(
        owner=spec.owner,
        name=spec.name,
        id=spec.id,
        url=f"{base_url}/v1/models/{spec.id}",
        visibility="public",
        kind=spec.kind,
        description="synthetic load-test model: sleeps per step, placeholder images"
        if spec.kind == "synthetic"
        else None,
        queued=queued,
        in_flight=in_flight,
        workers=len(mine),
        desired=decision["desired"] if decision else None,
        scaling_reason=decision["reason"] if decision else None,
        # Whether its workers can load it: the cause of the last failed load, in one line.
        status=health.status,
        error=health.error,
        since=iso_time(health.since),
        attempts=health.attempts,
        limits=SizeLimits(min_size=spec.min_size, max_size=spec.max_size),
        loras=list(loras),
        family=spec.family,
        defaults=InputDefaults.model_validate(spec.input_defaults()),
        schedulers=list(spec.rules.schedulers),
    )


async def _describe(runtime: Runtime, base_url: str, specs: list[ModelSpec]) -> list[Model]:
    settings = runtime.settings
    workers = await runtime.store.run(
        heartbeats.live_workers(time.time(), settings.heartbeat_ttl_s)
    )
    described = []
    for spec in specs:
        queued, _ = await runtime.store.run(queued_summary(spec.id))
        decision = await runtime.store.run(latest_decision(spec.id))
        health = await runtime.store.run(get_health(spec.id))
        loras = await to_thread.run_sync(
            model_adapters, settings.adapters_dir(spec), spec.hub_loras
        )
        described.append(_model(spec, base_url, queued, workers, decision, health, loras))
    return described


@router.get("/v1/models")
async def list_models(runtime: Runtime, base_url: BaseUrl) -> ModelPage:
    results = await _describe(runtime, base_url, runtime.settings.models)
    return ModelPage(previous=None, next=None, results=results)


@router.get("/v1/models/{owner}/{name}")
async def get_model(spec: ServedModel, runtime: Runtime, base_url: BaseUrl) -> Model:
    return (await _describe(runtime, base_url, [spec]))[0]
