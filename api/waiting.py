"""Waiting for a job to finish by blocking on its event stream (no polling loop)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from sdq.job import EventType, Job
from sdq.store.events import read_events
from sdq.store.jobs import get_job
from sdq.store.ops import AsyncOpRunner

_READ_BATCH = 100


async def wait_for_terminal(
    store: AsyncOpRunner, blocking: AsyncOpRunner, job_id: str, timeout_s: float
) -> Job | None:
    """Block on the job's events until `completed` arrives or `timeout_s` passes; return the job."""
    deadline = time.monotonic() + timeout_s
    after = "0-0"
    while (remaining_ms := int((deadline - time.monotonic()) * 1000)) > 0:
        events = await blocking.run(read_events(job_id, after, _READ_BATCH, block_ms=remaining_ms))
        if any(event.type is EventType.COMPLETED for event in events):
            break
        if events:
            after = events[-1].id
    return await store.run(get_job(job_id))


async def wait_for_caller(
    store: AsyncOpRunner,
    blocking: AsyncOpRunner,
    job_id: str,
    timeout_s: float,
    disconnected: Callable[[], Awaitable[bool]],
    check_every_s: float = 1.0,
) -> Job | None:
    """`wait_for_terminal` for a caller who holds the connection open for the result: returns
    None as soon as it hangs up (the caller decides what happens to the job)."""
    waiter = asyncio.create_task(wait_for_terminal(store, blocking, job_id, timeout_s))
    try:
        while True:
            done, _ = await asyncio.wait({waiter}, timeout=check_every_s)
            if done:
                return waiter.result()
            if await disconnected():
                return None
    finally:
        if not waiter.done():
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
