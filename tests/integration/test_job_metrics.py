"""The job counters the API's recovery pass records, on real Redis: a lost job requeued counts as
recovered, given up as failed; a queued job past its deadline as aborted. Each is counted once,
by the pass that wrote the transition (a second pass finds nothing to do)."""

from __future__ import annotations

import asyncio
import time

import redis
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from sdq.recovery import reap_once
from sdq.store.ops import AsyncOpRunner, OpRunner
from tests.integration.test_deadlines import new_job as queued_job_with_deadline
from tests.integration.test_store import claim, new_job

TINY = "sdq/tiny"


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"model": TINY} | labels) or 0.0


def reap(redis_url: str, passes: int = 1) -> None:
    async def enqueue(job_id: str, model: str) -> None:
        return None

    async def run() -> None:
        store = AsyncOpRunner(aioredis.Redis.from_url(redis_url, decode_responses=True))
        for _ in range(passes):
            await reap_once(
                store, enqueue, now=time.time(), heartbeat_ttl_s=30, max_attempts=2, retention_s=60
            )
        await store.redis.aclose()

    asyncio.run(run())


def test_a_lost_job_counts_as_recovered_then_failed_once_each(
    redis_url: str, redis_client: redis.Redis
) -> None:
    store = OpRunner(redis_client)
    job = new_job(store)
    recovered = counted("sdq_jobs_recovered_total")
    failed = counted("sdq_jobs_finished_total", status="failed")

    claim(store, job.id, "w-dead")  # no heartbeat: its worker is gone
    reap(redis_url, passes=2)
    assert counted("sdq_jobs_recovered_total") == recovered + 1

    claim(store, job.id, "w-dead-again")  # the last attempt is lost too
    reap(redis_url, passes=2)
    assert counted("sdq_jobs_finished_total", status="failed") == failed + 1
    assert counted("sdq_jobs_recovered_total") == recovered + 1


def test_a_queued_job_past_its_deadline_counts_as_aborted_once(
    redis_url: str, redis_client: redis.Redis
) -> None:
    store = OpRunner(redis_client)
    aborted = counted("sdq_jobs_finished_total", status="aborted")
    queued_job_with_deadline(store, deadline_in=-1)
    queued_job_with_deadline(store, deadline_in=60)  # still has time: not aborted
    reap(redis_url, passes=2)
    assert counted("sdq_jobs_finished_total", status="aborted") == aborted + 1
