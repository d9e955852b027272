"""Each model's scaling signal in a shape KEDA's `metrics-api` trigger reads (instead of LLEN)."""

from __future__ import annotations

import time

from fastapi import APIRouter

from api.deps import Runtime, ServedModel
from api.native.model_shapes import ScalingSignal
from sdq.store import heartbeats
from sdq.store.jobs import queued_summary
from sdq.store.scaling import latest_decision

router = APIRouter(tags=["scaling"])


@router.get("/v1/scaling/metrics/{owner}/{name}")
async def scaling_metrics(spec: ServedModel, runtime: Runtime) -> ScalingSignal:
    """`work` = queued + in flight (the jobs busy workers run): a queue length that does not drop
    to zero while the last job runs. `desired` is sdq's own decision when its scaler runs (else
    null)."""
    model_id = spec.id
    queued, oldest = await runtime.store.run(queued_summary(model_id))
    now = time.time()
    live = await runtime.store.run(heartbeats.live_workers(now, runtime.settings.heartbeat_ttl_s))
    mine, in_flight = heartbeats.model_workers(live, model_id)
    decision = await runtime.store.run(latest_decision(model_id))
    return ScalingSignal(
        model=model_id,
        queued=queued,
        in_flight=in_flight,
        work=queued + in_flight,
        workers=len(mine),
        oldest_queued_age_s=None if oldest is None else round(max(0.0, now - oldest), 3),
        desired=decision["desired"] if decision else None,
    )
