"""The recovery pass on real Redis: a dead worker's job is requeued once, then failed at the cap."""

from __future__ import annotations

import asyncio
import time

import redis
import redis.asyncio as aioredis

from sdq.job import JobStatus
from sdq.recovery import reap_once
from sdq.store import heartbeats
from sdq.store.heartbeats import Heartbeat, WorkerState
from sdq.store.jobs import get_job
from sdq.store.ops import AsyncOpRunner, OpRunner
from tests.integration.test_store import claim, new_job


def beat(worker: str, job_id: str) -> Heartbeat:
    now = time.time()
    return Heartbeat(
        worker_id=worker,
        host="h",
        pid=1,
        model="sdq/tiny",
        state=WorkerState.BUSY,
        job_id=job_id,
        started_at=now,
        seen_at=now,
    )


def test_live_worker_keeps_its_job_dead_worker_loses_it(
    redis_url: str, redis_client: redis.Redis
) -> None:
    store = OpRunner(redis_client)
    alive, dead = new_job(store), new_job(store)
    claim(store, alive.id, "w-alive")
    claim(store, dead.id, "w-dead")
    store.run(heartbeats.publish(beat("w-alive", alive.id), ttl_s=30))
    enqueued: list[tuple[str, str]] = []

    async def enqueue(job_id: str, model: str) -> None:
        enqueued.append((job_id, model))

    async def scenario() -> None:
        async_store = AsyncOpRunner(aioredis.Redis.from_url(redis_url, decode_responses=True))

        async def reap() -> int:
            done = await reap_once(
                async_store,
                enqueue,
                now=time.time(),
                heartbeat_ttl_s=30,
                max_attempts=2,
                retention_s=60,
            )
            return len(done)

        assert await reap() == 1
        assert enqueued == [(dead.id, "sdq/tiny")]
        assert store.run(get_job(alive.id)).status is JobStatus.RUNNING  # type: ignore[union-attr]
        requeued = store.run(get_job(dead.id))
        assert (
            requeued is not None and requeued.status is JobStatus.QUEUED and requeued.attempt == 1
        )
        assert await reap() == 0, "nothing to do twice"

        claim(store, dead.id, "w-dead-again")  # attempt 2 of 2 dies too
        assert await reap() == 1
        failed = store.run(get_job(dead.id))
        assert failed is not None and failed.status is JobStatus.FAILED
        assert "giving up after 2 of 2 attempts" in (failed.error or "")
        assert len(enqueued) == 1
        await async_store.redis.aclose()

    asyncio.run(scenario())
