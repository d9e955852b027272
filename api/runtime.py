"""What the API process holds for its lifetime: settings, store runners, the producer, storage."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from anyio import to_thread
from celery import Celery

from api.draining import Drain
from api.queue_facts import QueueFacts
from api.recent_reads import RecentReads
from api.wait_slots import WaitSlots
from sdq.celery_app import make_celery, send_generate
from sdq.redis_connect import async_redis
from sdq.settings import Settings
from sdq.signed_links import LinkSigner
from sdq.storage import OutputStorage, output_links
from sdq.storage_factory import make_storage
from sdq.store.link_secret import LinkSecret, read_or_create_link_secret
from sdq.store.ops import AsyncOpRunner

# The store's connection pool, shared by every request and /readyz.
STORE_CONNECTIONS = 256
# Writes that wait for Redis replicas at once (each holds a store connection while it waits).
REPLICATED_WRITES_MOST = STORE_CONNECTIONS // 2


@dataclass
class ApiRuntime:
    settings: Settings
    store: AsyncOpRunner
    blocking: AsyncOpRunner  # blocking reads (Prefer: wait, SSE) on a pool of their own
    celery: Celery
    storage: OutputStorage
    drain: Drain  # set off by SIGTERM (cli.api_server): streams end, waits answer
    link_secret: LinkSecret = field(init=False)
    queue_facts: QueueFacts = field(init=False)
    recent: RecentReads = field(init=False)  # policy and model health on the submit path
    waits: WaitSlots = field(init=False)
    replicated_writes: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.link_secret = LinkSecret(self.settings)
        self.queue_facts = QueueFacts(self.settings.heartbeat_ttl_s)
        self.recent = RecentReads()
        settings = self.settings
        self.waits = WaitSlots(settings.max_open_waits, settings.max_open_waits_per_tenant)
        self.replicated_writes = asyncio.Semaphore(REPLICATED_WRITES_MOST)

    async def link_key(self, recheck: bool = False) -> bytes:
        """The key signing `/v1/files` links; `recheck` re-reads a shared one (rate-limited)."""
        now = time.monotonic()
        reread = recheck and self.link_secret.may_recheck(now)
        held = None if reread else self.link_secret.held(now)
        if held is not None:
            return held
        return self.link_secret.keep(await self.store.run(read_or_create_link_secret()), now)

    async def output_links(self, base_url: str) -> Callable[[str], str]:
        """Output key -> the link handed out now: presigned on object storage, else a signed,
        expiring `/v1/files` URL."""
        signer = LinkSigner(await self.link_key(), self.settings.link_ttl_s)
        return output_links(self.storage, base_url, signer, time.time())

    async def enqueue(self, job_id: str, model_id: str) -> None:
        """Send a token through Celery's producer (recovery's requeues; submits push theirs
        from the create script)."""
        await to_thread.run_sync(send_generate, self.celery, job_id, model_id)

    async def close(self) -> None:
        await self.store.redis.aclose()
        await self.blocking.redis.aclose()
        self.celery.close()


def build_runtime(settings: Settings, redis_url: str, drain: Drain | None = None) -> ApiRuntime:
    client = async_redis(redis_url, decode_responses=True, max_connections=STORE_CONNECTIONS)
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
        drain=drain or Drain(settings.shutdown_grace_s),
    )
