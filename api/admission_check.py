"""Refusing a submit that would pass the model's or the key's queue limit: 429 with a Retry-After
computed from the queue, the workers and the model's predict time."""

from __future__ import annotations

import time

from api.errors import TooManyRequests
from api.runtime import ApiRuntime
from sdq.admission import COLD_START_ESTIMATE_S, QueueState, admit
from sdq.scaling_policy import ScalingPolicy
from sdq.settings import ModelSpec
from sdq.store import heartbeats
from sdq.store.admission import queue_counts
from sdq.store.scaling import latest_decision


async def refuse_if_full(
    runtime: ApiRuntime,
    spec: ModelSpec,
    policy: ScalingPolicy,
    tenant: str,
    key_max_queued: int | None,
) -> None:
    """Raise TooManyRequests when one more job would pass a limit; costs nothing without one."""
    if policy.max_queued is None and key_max_queued is None:
        return
    counts = await runtime.store.run(
        queue_counts(spec.id, tenant, count_tenant=key_max_queued is not None)
    )
    settings = runtime.settings
    live = await runtime.store.run(heartbeats.live_workers(time.time(), settings.heartbeat_ttl_s))
    ready, _ = heartbeats.model_workers(live, spec.id)
    decision = await runtime.store.run(latest_decision(spec.id))
    desired = int(decision["desired"]) if decision else 0
    state = QueueState(
        queued=counts.queued,
        workers_ready=len(ready),
        workers_starting=max(0, desired - len(ready)),
        p50_predict_s=counts.p50_predict_s,
        cold_start_s=COLD_START_ESTIMATE_S,
    )
    refusal = admit(
        state,
        max_queued=policy.max_queued,
        key_queued=counts.tenant_queued,
        key_max_queued=key_max_queued,
        model_id=spec.id,
    )
    if refusal is not None:
        raise TooManyRequests(
            f"{refusal.detail}; retry in about {refusal.retry_after_s} s", refusal.retry_after_s
        )
