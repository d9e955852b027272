"""Each served model's capacity as Redis has it now: jobs queued and in flight, workers busy,
idle and starting, the scaler's desired count (for the metrics and the console's history)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sdq.store import heartbeats
from sdq.store.heartbeats import WorkerState
from sdq.store.jobs import queued_summary
from sdq.store.ops import AsyncOpRunner
from sdq.store.scaling import latest_decision


@dataclass(frozen=True)
class ModelCapacity:
    """One model's work and workers at one moment."""

    model: str
    queued: int
    busy: int
    idle: int
    starting: int
    desired: int | None
    in_flight: int  # the jobs the busy workers run (more than `busy` when they run batches)

    @property
    def workers(self) -> int:
        """Workers up (busy or idle); those still starting are not."""
        return self.busy + self.idle


async def read_capacity(
    store: AsyncOpRunner, models: Iterable[str], now: float, heartbeat_ttl_s: float
) -> list[ModelCapacity]:
    """One Redis read for the workers, then two per model."""
    live = await store.run(heartbeats.live_workers(now, heartbeat_ttl_s))
    found = []
    for model in models:
        count, _ = await store.run(queued_summary(model))
        mine, in_flight = heartbeats.model_workers(live, model)
        busy = sum(1 for beat in mine if beat.state is WorkerState.BUSY)
        idle = sum(1 for beat in mine if beat.state is WorkerState.IDLE)
        decision = await store.run(latest_decision(model))
        wanted = int(decision["desired"]) if decision else None
        starting = heartbeats.workers_starting(wanted, len(mine))
        found.append(ModelCapacity(model, count, busy, idle, starting, wanted, in_flight))
    return found
