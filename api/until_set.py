"""An async generator's items until an event is set: the pending step is then cancelled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypeVar

T = TypeVar("T")


async def until_set(source: AsyncGenerator[T, None], stop: asyncio.Event) -> AsyncIterator[T]:
    """`source`'s items until it ends or `stop` is set, whichever comes first. An item the source
    was still producing is dropped (a resumed event stream reads it again); the source is closed
    either way."""
    stopped = asyncio.ensure_future(stop.wait())
    step: asyncio.Future[T] | None = None
    try:
        while not stop.is_set():
            step = asyncio.ensure_future(anext(source))
            await asyncio.wait({step, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                return  # the step is cancelled below
            try:
                item = step.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        for pending in (step, stopped):  # also when this generator is itself cancelled
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await pending
        await source.aclose()
