"""What the API process holds for its lifetime: settings, Redis clients, the job store, the producer."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from anyio import to_thread
from celery import Celery

from sdq.queue import make_celery, send_generate
from sdq.redis_connect import async_redis
from sdq.settings import Settings
from sdq.storage import OutputStorage
from sdq.storage_factory import make_storage
from sdq.store import AsyncJobStore


@dataclass
class ApiState:
    settings: Settings
    store: AsyncJobStore
    blocking_redis: aioredis.Redis
    celery: Celery
    storage: OutputStorage

    async def enqueue(self, job_id: str, model_id: str) -> None:
        await to_thread.run_sync(send_generate, self.celery, job_id, model_id)

    async def close(self) -> None:
        await self.store.redis.aclose()
        await self.blocking_redis.aclose()
        self.celery.close()


def build_state(settings: Settings, redis_url: str) -> ApiState:
    client = async_redis(redis_url, decode_responses=True, max_connections=256)
    # Blocking reads (Prefer: wait) hold a connection each; they get their own, larger pool.
    blocking = async_redis(
        redis_url, decode_responses=True, max_connections=4096, socket_timeout=None
    )
    return ApiState(
        settings=settings,
        store=AsyncJobStore(client),
        blocking_redis=blocking,
        celery=make_celery(settings, redis_url),
        storage=make_storage(settings),
    )
