"""All one worker process holds while it serves: settings, model, store, storage, heartbeat."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass

from sdq.redis_connect import sync_redis
from sdq.settings import Settings
from sdq.storage import OutputStorage
from sdq.storage_factory import make_storage
from sdq.store.ops import OpRunner
from worker.engines.base import Engine
from worker.engines.loader import load_engine
from worker.heartbeat_thread import HeartbeatPublisher


@dataclass
class WorkerRuntime:
    settings: Settings
    worker_id: str
    engine: Engine
    store: OpRunner
    storage: OutputStorage
    heartbeat: HeartbeatPublisher

    def close(self) -> None:
        self.heartbeat.stop()
        self.store.redis.close()


def new_worker_id(settings: Settings) -> str:
    """Unique per process start, so a restarted worker is never mistaken for the one that died."""
    base = settings.worker_id or os.environ.get("POD_NAME") or socket.gethostname()
    return f"{base}:{os.getpid()}:{secrets.token_hex(3)}"


def start_runtime(
    settings: Settings, redis_url: str, model_id: str, on_tick: Callable[[], None] = lambda: None
) -> WorkerRuntime:
    """Load the model, then announce the worker: a heartbeat exists only once it can serve."""
    spec = settings.model(model_id)
    if spec is None:
        raise ValueError(f"model {model_id!r} is not among the served models")
    engine = load_engine(spec, settings)
    store = OpRunner(sync_redis(redis_url, decode_responses=True))
    worker_id = new_worker_id(settings)
    beat = HeartbeatPublisher(
        store,
        worker_id,
        spec.id,
        settings.heartbeat_interval_s,
        settings.heartbeat_ttl_s,
        on_tick,
    )
    beat.start()
    return WorkerRuntime(
        settings=settings,
        worker_id=worker_id,
        engine=engine,
        store=store,
        storage=make_storage(settings),
        heartbeat=beat,
    )
