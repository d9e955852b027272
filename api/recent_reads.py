"""A per-process cache of store reads that may be up to `RECENT_S` old on the submit path (a
model's scaling policy and load health): a change made elsewhere takes effect within it."""

from __future__ import annotations

import time
from typing import Any, TypeVar

from sdq.store.ops import AsyncOpRunner, Op

T = TypeVar("T")

# How old a cached read may be. A policy changed through this process is seen at once (its
# admin route forgets the read); through another replica, or a worker's load health, within this.
RECENT_S = 1.0


class RecentReads:
    """Plain-command reads (no scripts), keyed by their command, each kept for `RECENT_S`."""

    def __init__(self, max_age_s: float = RECENT_S) -> None:
        self._max_age_s = max_age_s
        self._held: dict[tuple[str, ...], tuple[float, Any]] = {}

    async def run(self, store: AsyncOpRunner, op: Op[T]) -> T:
        """The op's decoded reply, from a read at most `max_age_s` old."""
        assert op.script is None, "only plain reads are cached"
        now = time.monotonic()
        held = self._held.get(op.args)
        if held is not None and now - held[0] <= self._max_age_s:
            value: T = held[1]
            return value
        value = await store.run(op)
        self._held[op.args] = (now, value)
        return value

    def forget(self, op: Op[Any]) -> None:
        """Drop the op's cached reply (after this process wrote what it reads)."""
        self._held.pop(op.args, None)
