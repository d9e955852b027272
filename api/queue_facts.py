"""What the API knows about a model's queue for Retry-After and ETAs: its live workers, the
scaler's latest target and the model's measured timings, read at most once per FACTS_TTL_S per
model and process (the queue's own counts are always current)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sdq.admission import COLD_START_ESTIMATE_S, QueueState
from sdq.store import heartbeats
from sdq.store.model_timings import ModelTimings, model_timings
from sdq.store.ops import AsyncOpRunner
from sdq.store.scaling import latest_decision

FACTS_TTL_S = 2.0


@dataclass(frozen=True)
class _Facts:
    workers_ready: int
    workers_starting: int
    timings: ModelTimings
    read_at: float


class QueueFacts:
    """A per-process cache of each model's workers and timings."""

    def __init__(self, heartbeat_ttl_s: float) -> None:
        self._heartbeat_ttl_s = heartbeat_ttl_s
        self._held: dict[str, _Facts] = {}
        self._reading: dict[str, asyncio.Lock] = {}

    async def state(self, store: AsyncOpRunner, model_id: str, queued: int) -> QueueState:
        """The model's queue state with `queued` jobs waiting."""
        facts = self._held.get(model_id)
        if facts is None or time.monotonic() - facts.read_at > FACTS_TTL_S:
            # One read per model at a time: concurrent callers (a list page) wait for it.
            async with self._reading.setdefault(model_id, asyncio.Lock()):
                facts = self._held.get(model_id)
                now = time.monotonic()
                if facts is None or now - facts.read_at > FACTS_TTL_S:
                    facts = self._held[model_id] = await self._read(store, model_id, now)
        return QueueState(
            queued=queued,
            workers_ready=facts.workers_ready,
            workers_starting=facts.workers_starting,
            p50_predict_s=facts.timings.p50_predict_s,
            cold_start_s=facts.timings.p50_cold_start_s or COLD_START_ESTIMATE_S,
        )

    async def _read(self, store: AsyncOpRunner, model_id: str, now: float) -> _Facts:
        live = await store.run(heartbeats.live_workers(time.time(), self._heartbeat_ttl_s))
        ready, _ = heartbeats.model_workers(live, model_id)
        decision = await store.run(latest_decision(model_id))
        desired = int(decision["desired"]) if decision else None
        timings = await store.run(model_timings(model_id))
        return _Facts(len(ready), heartbeats.workers_starting(desired, len(ready)), timings, now)
