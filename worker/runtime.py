"""All one worker process holds while it serves: settings, model, store, storage, heartbeat,
the batching policy."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from sdq.redis_connect import sync_redis
from sdq.scaling_policy import ScalingPolicy
from sdq.settings import Settings
from sdq.storage import OutputStorage
from sdq.storage_factory import make_storage
from sdq.store import model_health
from sdq.store.model_health import LoadRetry
from sdq.store.ops import OpRunner
from worker.batch_policy import BatchPolicyReader
from worker.disk_guard import DiskGuard
from worker.engines.base import Engine
from worker.engines.load_errors import ModelLoadError
from worker.engines.loader import LoadTimings, load_engine_timed
from worker.heartbeat_thread import HeartbeatPublisher
from worker.load_report import report_load_failure

log = logging.getLogger(__name__)


@dataclass
class WorkerRuntime:
    settings: Settings
    worker_id: str
    engine: Engine
    store: OpRunner
    storage: OutputStorage
    heartbeat: HeartbeatPublisher
    disk: DiskGuard | None = None  # local storage with a free-space floor
    timings: LoadTimings = field(default_factory=LoadTimings)  # the model load and warm-up
    batching: BatchPolicyReader = field(default_factory=lambda: BatchPolicyReader(ScalingPolicy()))

    def close(self) -> None:
        self.heartbeat.stop()
        self.store.redis.close()


def new_worker_id(settings: Settings) -> str:
    """Unique per process start, so a restarted worker is never mistaken for the one that died."""
    base = settings.worker_id or os.environ.get("POD_NAME") or socket.gethostname()
    return f"{base}:{os.getpid()}:{secrets.token_hex(3)}"


def record_load_failure(
    store: OpRunner, settings: Settings, model_id: str, error: ModelLoadError
) -> None:
    """Tell the store (and so the scaler, the API and the model's queued jobs) why the model
    could not load; a store that cannot be reached leaves only the log line."""
    try:
        report_load_failure(
            store,
            model_id,
            error.failure,
            LoadRetry.from_settings(settings),
            settings.job_retention_s,
            time.time(),
        )
    except Exception as failed:  # Redis down: the worker exits anyway, the scaler retries
        log.warning("could not record the failed load of %s: %s", model_id, failed)


def start_runtime(
    settings: Settings, redis_url: str, model_id: str, on_tick: Callable[[], None] = lambda: None
) -> WorkerRuntime:
    """Load the model, then announce the worker: a heartbeat exists only once it can serve."""
    spec = settings.model(model_id)
    if spec is None:
        raise ValueError(f"model {model_id!r} is not among the served models")
    store = OpRunner(sync_redis(redis_url, decode_responses=True))
    try:
        engine, timings = load_engine_timed(spec, settings)
    except ModelLoadError as error:
        record_load_failure(store, settings, spec.id, error)
        store.redis.close()
        raise
    try:
        store.run(model_health.record_loaded(spec.id))
    except (redis.ConnectionError, redis.TimeoutError) as failed:
        # Loaded all the same: the broker watch decides what a Redis outage means for the worker.
        log.warning("%s is loaded, but Redis did not take the news: %s", spec.id, failed)
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
        disk=disk_guard(settings),
        timings=timings,
        batching=BatchPolicyReader(spec.scaling),
    )


def disk_guard(settings: Settings) -> DiskGuard | None:
    """The free-space guard of local output storage; none for S3 or with the check off."""
    if settings.storage != "local" or settings.min_free_disk_bytes <= 0:
        return None
    return DiskGuard(settings.outputs_dir, settings.min_free_disk_bytes)
