"""The one event reader on real Redis: from the start, after an id, blocking, newest first."""

from __future__ import annotations

import asyncio
import time

import redis
import redis.asyncio as aioredis

from sdq.job import EventType, Transition
from sdq.store.events import newest_events, read_events
from sdq.store.jobs import append_event, transition
from sdq.store.ops import AsyncOpRunner, OpRunner
from tests.integration.test_store import claim, new_job


def test_reads_every_event_in_order_and_resumes_after_an_id(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    job = new_job(store)
    running = claim(store, job.id, "w1")
    assert running is not None
    for step in (1, 2):
        data = {"step": step, "total": 2}
        store.run(
            append_event(job.id, attempt=1, worker_id="w1", event=EventType.PROGRESS, data=data)
        )

    events = store.run(read_events(job.id, "0-0", count=100))
    kinds = [event.type for event in events]
    assert kinds == [EventType.QUEUED, EventType.STARTED, EventType.PROGRESS, EventType.PROGRESS]
    assert events[1].data["attempt"] == 1 and events[3].data["step"] == 2
    assert store.run(read_events(job.id, events[1].id, count=100)) == events[2:]
    assert store.run(read_events(job.id, events[1].id, count=1)) == events[2:3]
    newest = store.run(newest_events(job.id, 3))
    assert newest == list(reversed(events))[:3]


def test_a_blocking_read_wakes_on_the_next_event_or_times_out(
    redis_client: redis.Redis, redis_url: str
) -> None:
    store = OpRunner(redis_client)
    job = new_job(store)
    [queued] = store.run(read_events(job.id, "0-0", count=10))

    async def scenario() -> tuple[list[EventType], list[EventType], float]:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        blocking = AsyncOpRunner(client)
        try:
            started = time.monotonic()
            timed_out = await blocking.run(read_events(job.id, queued.id, 10, block_ms=200))
            waited = time.monotonic() - started
            reader = asyncio.create_task(
                blocking.run(read_events(job.id, queued.id, 10, block_ms=10_000))
            )
            await asyncio.sleep(0.1)
            store.run(transition(Transition.CANCEL_QUEUED, job.id, retention_s=60, now=time.time()))
            woken = await asyncio.wait_for(reader, timeout=5)
            return [e.type for e in timed_out], [e.type for e in woken], waited
        finally:
            await client.aclose()

    timed_out, woken, waited = asyncio.run(scenario())
    assert timed_out == [] and waited >= 0.15, "nothing new: the read waits, then gives up"
    assert woken == [EventType.COMPLETED]


def test_a_missing_stream_reads_as_no_events(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    assert store.run(read_events("nosuchjob", "0-0", count=10)) == []
    assert store.run(newest_events("nosuchjob", 10)) == []
