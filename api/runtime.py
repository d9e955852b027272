"""What the API process holds for its lifetime: settings, store runners, the producer, storage."""

from __future__ import annotations

from dataclasses import dataclass

from anyio import to_thread
from celery import Celery

from sdq.celery_app import make_celery, send_generate
from sdq.redis_connect import async_redis
from sdq.settings import Settings
from sdq.storage import OutputStorage
from sdq.storage_factory import make_storage
from sdq.store.ops import AsyncOpRunner


@dataclass
class ApiRuntime:
    settings: Settings
    store: AsyncOpRunner
    blocking: AsyncOpRunner  # blocking reads (Prefer: wait, SSE) on a pool of their own
    celery: Celery
    storage: OutputStorage

    async def enqueue(self, job_id: str, model_id: str) -> None:
        await to_thread.run_sync(send_generate, self.celery, job_id, model_id)

    async def close(self) -> None:
        await self.store.redis.aclose()
        await self.blocking.redis.aclose()
        self.celery.close()


def build_runtime(settings: Settings, redis_url: str) -> ApiRuntime:
    client = async_redis(redis_url, decode_responses=True, max_connections=256)
    # Blocking reads (Prefer: wait) hold a connection each; they get their own, larger pool.
    blocking = async_redis(
        redis_url, decode_responses=True, max_connections=4096, socket_timeout=None
    )
    return ApiRuntime(
        settings=settings,
        store=AsyncOpRunner(client),
        blocking=AsyncOpRunner(blocking),
        celery=make_celery(settings, redis_url),
        storage=make_storage(settings),
    )
