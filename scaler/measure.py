"""Measuring one model's load from Redis: queued jobs (from sdq's own index) and busy workers."""

from __future__ import annotations

from dataclasses import dataclass

from sdq.store import heartbeats
from sdq.store.heartbeats import Heartbeat, WorkerState
from sdq.store.jobs import queued_summary
from sdq.store.ops import OpRunner


@dataclass(frozen=True)
class ModelLoad:
    queued: int
    in_flight: int
    oldest_queued_age_s: float | None
    workers: tuple[Heartbeat, ...]

    @property
    def busy_worker_ids(self) -> frozenset[str]:
        return frozenset(w.worker_id for w in self.workers if w.state is WorkerState.BUSY)


def measure(store: OpRunner, model_id: str, now: float, heartbeat_ttl_s: float) -> ModelLoad:
    """Queued work counts jobs in the queued state that can still run (not the broker list, which
    keeps canceled jobs' messages and misses prefetched ones; not jobs past their deadline, which
    are aborted, never run); in-flight counts the jobs live workers run (each of a batch)."""
    queued, oldest = store.run(queued_summary(model_id, now))
    live = store.run(heartbeats.live_workers(now, heartbeat_ttl_s))
    mine, busy = heartbeats.model_workers(live, model_id)
    age = None if oldest is None else max(0.0, now - oldest)
    return ModelLoad(queued, busy, age, tuple(mine))
