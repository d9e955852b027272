"""Waiting for a job to finish by blocking on its event stream (no polling loop)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sdq.job import EventType, Job
from sdq.store.events import read_events
from sdq.store.jobs import get_job
from sdq.store.ops import AsyncOpRunner

_READ_BATCH = 100


async def _until_completed(blocking: AsyncOpRunner, job_id: str, timeout_s: float) -> None:
    """Return when the job's `completed` event arrives or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    after = "0-0"
    while (remaining_ms := int((deadline - time.monotonic()) * 1000)) > 0:
        events = await blocking.run(read_events(job_id, after, _READ_BATCH, block_ms=remaining_ms))
        if any(event.type is EventType.COMPLETED for event in events):
            return
        if events:
            after = events[-1].id


async def _cancel(task: asyncio.Future[Any]) -> None:
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_for_terminal(
    store: AsyncOpRunner,
    blocking: AsyncOpRunner,
    job_id: str,
    timeout_s: float,
    until: asyncio.Event | None = None,
) -> Job | None:
    """Block on the job's events until `completed` arrives, `timeout_s` passes or `until` is set
    (the server's shutdown grace is over); return the job as it is then."""
    if until is None:
        await _until_completed(blocking, job_id, timeout_s)
        return await store.run(get_job(job_id))
    waiter = asyncio.ensure_future(_until_completed(blocking, job_id, timeout_s))
    stop = asyncio.ensure_future(until.wait())
    try:
        await asyncio.wait({waiter, stop}, return_when=asyncio.FIRST_COMPLETED)
        if waiter.done():
            waiter.result()  # its error, if it failed
    finally:
        await _cancel(waiter)
        await _cancel(stop)
    return await store.run(get_job(job_id))


async def wait_for_caller(
    store: AsyncOpRunner,
    blocking: AsyncOpRunner,
    job_id: str,
    timeout_s: float,
    disconnected: Callable[[], Awaitable[bool]],
    check_every_s: float = 1.0,
    until: asyncio.Event | None = None,
) -> Job | None:
    """`wait_for_terminal` for a caller who holds the connection open for the result: returns
    None as soon as it hangs up (the caller decides what happens to the job)."""
    waiter = asyncio.create_task(wait_for_terminal(store, blocking, job_id, timeout_s, until))
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
