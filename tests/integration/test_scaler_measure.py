"""Measuring load on a real Redis: queued from sdq's own index, in-flight from busy heartbeats."""

from __future__ import annotations

import time

import redis

from scaler.measure import measure
from sdq.job import Transition
from sdq.store import heartbeats
from sdq.store.heartbeats import Heartbeat, WorkerState
from sdq.store.jobs import transition
from sdq.store.ops import OpRunner
from tests.integration.test_store import claim, new_job


def beat(worker: str, model: str, state: WorkerState) -> Heartbeat:
    now = time.time()
    return Heartbeat(
        worker_id=worker, host="h", pid=1, model=model, state=state, started_at=now, seen_at=now
    )


def test_queued_running_canceled_and_requeued_jobs_are_counted_right(
    redis_client: redis.Redis,
) -> None:
    store = OpRunner(redis_client)
    oldest = new_job(store, created_at=time.time() - 30)
    running = new_job(store)
    canceled = new_job(store)
    new_job(store)
    claim(store, running.id, "w1")
    store.run(transition(Transition.CANCEL_QUEUED, canceled.id, retention_s=60, now=time.time()))
    store.run(heartbeats.publish(beat("w1", "sdq/tiny", WorkerState.BUSY), 30))
    store.run(heartbeats.publish(beat("w2", "sdq/tiny", WorkerState.IDLE), 30))
    store.run(heartbeats.publish(beat("w3", "other/model", WorkerState.BUSY), 30))

    load = measure(store, "sdq/tiny", time.time(), 30)
    assert (load.queued, load.in_flight) == (2, 1)
    assert load.oldest_queued_age_s is not None and 29 <= load.oldest_queued_age_s <= 35
    assert load.busy_worker_ids == {"w1"} and len(load.workers) == 2

    store.run(
        transition(
            Transition.REQUEUE,
            running.id,
            attempt=1,
            worker_id="w1",
            retention_s=60,
            now=time.time(),
        )
    )
    assert measure(store, "sdq/tiny", time.time(), 30).queued == 3
    claim(store, oldest.id, "w2")
    after = measure(store, "sdq/tiny", time.time(), 30)
    assert (
        after.queued == 2
        and after.oldest_queued_age_s is not None
        and after.oldest_queued_age_s < 29
    )
    assert (
        store.run(transition(Transition.CLAIM, canceled.id, retention_s=60, now=time.time()))
        is None
    )
