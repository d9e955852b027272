"""The capacity gauges read from real Redis at scrape time: queued jobs that can still run, busy,
idle and starting workers, the scaler's desired count and the most overdue webhook."""

from __future__ import annotations

import asyncio
import time

import redis
import redis.asyncio as aioredis
from prometheus_client.metrics_core import Metric

from api.capacity_metrics import capacity_families
from sdq.store import heartbeats
from sdq.store import redis_keys as keys
from sdq.store.heartbeats import Heartbeat, WorkerState
from sdq.store.ops import AsyncOpRunner, OpRunner
from sdq.store.scaling import publish_decision
from tests.integration.test_store import claim, new_job

TINY = "sdq/tiny"
OTHER = "sdq/synthetic"


def beat(worker: str, state: WorkerState) -> Heartbeat:
    now = time.time()
    return Heartbeat(
        worker_id=worker, host="h", pid=1, model=TINY, state=state, started_at=now, seen_at=now
    )


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(redis_url: str) -> Samples:
    async def read() -> list[Metric]:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            return await capacity_families(AsyncOpRunner(client), [TINY, OTHER], 30)
        finally:
            await client.aclose()

    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in asyncio.run(read())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_an_empty_store_reads_as_zeros_without_a_desired_count(
    redis_url: str, redis_client: redis.Redis
) -> None:
    samples = scrape(redis_url)
    for model in (TINY, OTHER):
        assert value(samples, "sdq_queued_jobs", model=model) == 0
        assert value(samples, "sdq_in_flight_jobs", model=model) == 0
        for state in ("busy", "idle", "starting"):
            assert value(samples, "sdq_workers", model=model, state=state) == 0
    assert not [key for key in samples if key[0] == "sdq_desired_replicas"], "no scaler runs"
    assert value(samples, "sdq_webhook_oldest_pending_seconds") == 0


def test_queued_running_workers_desired_and_overdue_webhooks(
    redis_url: str, redis_client: redis.Redis
) -> None:
    store = OpRunner(redis_client)
    now = time.time()
    for _ in range(3):
        new_job(store)
    running = new_job(store)
    claim(store, running.id, "w-busy")
    store.run(heartbeats.publish(beat("w-busy", WorkerState.BUSY), ttl_s=30))
    store.run(heartbeats.publish(beat("w-idle", WorkerState.IDLE), ttl_s=30))
    store.run(publish_decision(TINY, desired=5, current=2, reason="test", now=now))
    redis_client.zadd(keys.webhooks_due(), {"job|overdue": now - 60, "job|later": now + 60})

    samples = scrape(redis_url)

    expected = {
        ("sdq_queued_jobs", ()): 3,
        ("sdq_in_flight_jobs", ()): 1,
        ("sdq_workers", (("state", "busy"),)): 1,
        ("sdq_workers", (("state", "idle"),)): 1,
        ("sdq_workers", (("state", "starting"),)): 3,  # desired 5, two live
        ("sdq_desired_replicas", ()): 5,
    }
    for (name, extra), wanted in expected.items():
        assert value(samples, name, model=TINY, **dict(extra)) == wanted, name
    assert value(samples, "sdq_queued_jobs", model=OTHER) == 0
    assert 60 <= value(samples, "sdq_webhook_oldest_pending_seconds") < 120


def test_starting_never_goes_below_zero(redis_url: str, redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    store.run(heartbeats.publish(beat("w-1", WorkerState.IDLE), ttl_s=30))
    store.run(heartbeats.publish(beat("w-2", WorkerState.IDLE), ttl_s=30))
    store.run(publish_decision(TINY, desired=0, current=2, reason="scale in", now=time.time()))
    samples = scrape(redis_url)
    assert value(samples, "sdq_workers", model=TINY, state="starting") == 0
    assert value(samples, "sdq_workers", model=TINY, state="idle") == 2
