"""Each model's scaling signal in a shape KEDA's `metrics-api` trigger reads (instead of LLEN)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter

from api.deps import State
from api.errors import NotFound
from sdq import heartbeat
from sdq.scaling_policy_store import latest_decision
from sdq.store import queued_summary

router = APIRouter(tags=["scaling"])


@router.get("/v1/scaling/metrics/{owner}/{name}")
async def scaling_metrics(owner: str, name: str, state: State) -> dict[str, Any]:
    """`work` = queued + in flight (busy workers): a queue length that does not drop to zero
    while the last job runs. `desired` is sdq's own decision when its scaler runs (else null)."""
    model_id = f"{owner}/{name}"
    if state.settings.model(model_id) is None:
        raise NotFound(f"model {model_id} is not served here")
    queued, oldest = await state.store.run(queued_summary(model_id))
    now = time.time()
    live = await state.store.run(heartbeat.live_workers(now, state.settings.heartbeat_ttl_s))
    mine, in_flight = heartbeat.model_workers(live, model_id)
    decision = await state.store.run(latest_decision(model_id))
    return {
        "model": model_id,
        "queued": queued,
        "in_flight": in_flight,
        "work": queued + in_flight,
        "workers": len(mine),
        "oldest_queued_age_s": None if oldest is None else round(max(0.0, now - oldest), 3),
        "desired": decision["desired"] if decision else None,
    }
