"""Waiting for a job to finish by blocking on its event stream (no polling loop)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import cast

import redis.asyncio as aioredis

from sdq import keys
from sdq.events import EventType
from sdq.job import Job
from sdq.store import AsyncJobStore, get_job

_READ_BATCH = 100


async def wait_for_terminal(
    store: AsyncJobStore, blocking: aioredis.Redis, job_id: str, timeout_s: float
) -> Job | None:
    """Block on the job's events until `completed` arrives or `timeout_s` passes; return the job."""
    deadline = time.monotonic() + timeout_s
    stream = keys.job_events(job_id)
    last_id = "0-0"
    finished = False
    while not finished:
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        if remaining_ms <= 0:
            break
        reply = cast(
            list[tuple[str, list[tuple[str, dict[str, str]]]]],
            await blocking.xread({stream: last_id}, count=_READ_BATCH, block=remaining_ms),
        )
        for _, entries in reply or []:
            for entry_id, fields in entries:
                last_id = entry_id
                finished = finished or fields.get("type") == EventType.COMPLETED
    return await store.run(get_job(job_id))


async def wait_for_caller(
    store: AsyncJobStore,
    blocking: aioredis.Redis,
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
