"""Worker heartbeats: who is alive, serving which model, idle or busy with which job."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from sdq.store import redis_keys as keys
from sdq.store.ops import Op, lua


class WorkerState(StrEnum):
    IDLE = "idle"
    BUSY = "busy"


class BrokerState(StrEnum):
    """The worker's view of its broker: `down` (Redis unreachable), `stalled` (reachable, but work
    waits while this worker's consumer takes none), else `ok`."""

    OK = "ok"
    DOWN = "down"
    STALLED = "stalled"


class Heartbeat(BaseModel):
    """What a live worker says about itself, refreshed every few seconds with a short TTL."""

    worker_id: str
    host: str
    pid: int
    model: str
    state: WorkerState = WorkerState.IDLE
    job_id: str | None = None  # the first of `job_ids` (what readers before batching read)
    job_ids: list[str] = []  # every job it runs now: one, or a batch's
    started_at: float
    seen_at: float
    broker: BrokerState = BrokerState.OK
    broker_since: float | None = None  # when `broker` stopped being ok
    adapters: list[str] = []  # the LoRA adapters it holds loaded (its claims prefer their jobs)

    @property
    def current_jobs(self) -> list[str]:
        """The jobs it runs now (a heartbeat from before batching names one in `job_id`)."""
        return self.job_ids or ([self.job_id] if self.job_id else [])

    @property
    def jobs_in_flight(self) -> int:
        """The jobs it runs now: a busy worker counts at least one."""
        return max(1, len(self.current_jobs)) if self.state is WorkerState.BUSY else 0


_PUBLISH = lua("heartbeats_publish.lua")
_LIVE = lua("heartbeats_live.lua")
_REMOVE = lua("heartbeats_remove.lua")


def publish(beat: Heartbeat, ttl_s: float) -> Op[bool]:
    return Op(
        keys=(keys.worker(beat.worker_id), keys.workers_index()),
        args=(beat.model_dump_json(), str(int(ttl_s * 1000)), str(beat.seen_at), beat.worker_id),
        decode=lambda raw: bool(raw),
        script=_PUBLISH,
    )


def remove(worker_id: str) -> Op[bool]:
    """Say goodbye on a clean shutdown, so nobody waits for the TTL."""
    return Op(
        keys=(keys.worker(worker_id), keys.workers_index()),
        args=(worker_id,),
        decode=lambda raw: bool(raw),
        script=_REMOVE,
    )


def live_workers(now: float, ttl_s: float) -> Op[list[Heartbeat]]:
    """Every worker whose heartbeat has not expired."""

    def decode(raw: list[Any]) -> list[Heartbeat]:
        return [Heartbeat.model_validate(json.loads(doc)) for doc in raw]

    return Op(
        keys=(keys.workers_index(),),
        args=(str(now - ttl_s), keys.worker("")),
        decode=decode,
        script=_LIVE,
    )


def model_workers(beats: list[Heartbeat], model_id: str) -> tuple[list[Heartbeat], int]:
    """One model's live workers, and its in-flight work: the jobs its busy workers run (each job
    of a batch counts)."""
    mine = [beat for beat in beats if beat.model == model_id]
    return mine, sum(beat.jobs_in_flight for beat in mine)


def workers_starting(desired: int | None, ready: int) -> int:
    """Workers the scaler wants beyond those with a heartbeat: started, their model loading."""
    return max(0, (desired or 0) - ready)
