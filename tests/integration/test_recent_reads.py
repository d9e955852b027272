"""The submit path's cache of policy and health reads: a read is reused while it is younger than
the cache's age limit, read again after it, and at once after this process forgot it."""

from __future__ import annotations

import asyncio

import pytest
import redis

from api.recent_reads import RecentReads
from sdq.redis_connect import async_redis
from sdq.scaling_policy import ScalingPolicy
from sdq.store import redis_keys as keys
from sdq.store.ops import AsyncOpRunner
from sdq.store.scaling import get_policy

MODEL = "sdq/tiny"
DEFAULT = ScalingPolicy()
CHANGED = ScalingPolicy(max_queued=7)


@pytest.mark.parametrize(
    ("max_age_s", "forget", "second_read"),
    [
        (3600.0, False, DEFAULT),  # young enough: the cached read
        (0.0, False, CHANGED),  # too old: read again
        (3600.0, True, CHANGED),  # forgotten after this process wrote it: read again
    ],
)
def test_a_read_is_reused_while_recent(
    redis_url: str,
    redis_client: redis.Redis,
    max_age_s: float,
    forget: bool,
    second_read: ScalingPolicy,
) -> None:
    async def reads() -> list[ScalingPolicy]:
        store = AsyncOpRunner(async_redis(redis_url, decode_responses=True))
        recent = RecentReads(max_age_s)
        try:
            first = await recent.run(store, get_policy(MODEL, DEFAULT))
            redis_client.set(keys.scaling_policy(MODEL), CHANGED.model_dump_json())
            if forget:
                recent.forget(get_policy(MODEL, DEFAULT))
            return [first, await recent.run(store, get_policy(MODEL, DEFAULT))]
        finally:
            await store.redis.aclose()

    assert asyncio.run(reads()) == [DEFAULT, second_read]
