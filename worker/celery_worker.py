"""The Celery worker process for one model: prefork, one child, the pipeline loaded in the child."""

from __future__ import annotations

import logging
import multiprocessing
import time
from typing import Any

import redis
from celery import Celery, Task
from celery.signals import worker_process_init, worker_process_shutdown

from sdq import metrics
from sdq.celery_app import GENERATE_TASK, make_celery
from sdq.logs import configure_logging, is_verbose
from sdq.metrics_server import start_metrics_server
from sdq.settings import Settings
from sdq.store import redis_keys as keys
from sdq.store.model_timings import record_cold_start
from worker.broker_watch import attach_broker_watch
from worker.engines.load_errors import ModelLoadError
from worker.job_runner import run_next
from worker.model_gate import ModelGate, gate_step
from worker.probes import ProbeMarkers
from worker.runtime import WorkerRuntime, start_runtime

log = logging.getLogger(__name__)

_runtime: WorkerRuntime | None = None


def build_worker_app(
    settings: Settings, redis_url: str, model_id: str, started_at: float | None = None
) -> Celery:
    """The Celery app with the generate task, and the child's model load wired to its start;
    the time from `started_at` (the process's start) to ready is recorded as a cold start."""
    started_at = time.time() if started_at is None else started_at
    recorded = multiprocessing.Event()
    app = make_celery(settings, redis_url)
    gate = ModelGate()
    markers = ProbeMarkers(settings.probe_dir) if settings.probe_dir else None
    app.steps["consumer"].add(gate_step(gate, timeout_s=app.conf.worker_proc_alive_timeout))
    watch = attach_broker_watch(app, settings, redis_url, model_id)

    @app.task(name=GENERATE_TASK, acks_late=True, reject_on_worker_lost=True, bind=True)
    def generate_task(task: Task, job_id: str) -> None:
        # The message is a token: the job that sent it may not be the one the scheduler picks.
        if _runtime is None:
            raise RuntimeError("worker runtime is not initialised")
        with watch.delivery():
            run_next(_runtime, model_id, job_id, delivery_id=task.request.id)

    @worker_process_init.connect(weak=False)
    def _load(**_: Any) -> None:
        global _runtime
        configure_logging(settings, "worker")
        if markers:
            markers.loading()
            local = settings.storage == "local"
            markers.storage(settings.outputs_dir if local else None, settings.min_free_disk_bytes)
        try:
            _runtime = start_runtime(
                settings, redis_url, model_id, markers.alive if markers else lambda: None
            )
        except ModelLoadError as error:  # its cause in one line; the chain only when debugging
            debug = log.isEnabledFor(logging.DEBUG)
            log.error("could not load model %s: %s", model_id, error, exc_info=debug)
            gate.failed.set()
            return
        except BaseException:
            log.exception("could not load model %s", model_id)
            gate.failed.set()
            raise
        _runtime.heartbeat.watch_broker(watch.status)
        if not recorded.is_set():  # a replaced child's load is not a cold start of the worker
            recorded.set()
            record_ready(_runtime, model_id, time.time() - started_at)
        gate.ready.set()
        if markers:
            markers.ready()
        log.info(
            "ready: %s loaded in %.1f s, warm-up %.1f s, worker %s consuming (%.1f s after start)",
            model_id,
            _runtime.timings.load_s,
            _runtime.timings.warmup_s,
            _runtime.worker_id,
            time.time() - started_at,
        )

    @worker_process_shutdown.connect(weak=False)
    def _close(**_: Any) -> None:
        if markers:
            markers.stopped()
        if _runtime is not None:
            _runtime.close()

    return app


def record_ready(runtime: WorkerRuntime, model_id: str, cold_start_s: float) -> None:
    """Remember how long this worker took to become ready (for Retry-After and ETAs); a Redis
    hiccup here costs the figure, never the worker."""
    metrics.cold_start(model_id, cold_start_s)
    metrics.model_load(model_id, runtime.timings.load_s, runtime.timings.warmup_s)
    try:
        runtime.store.run(record_cold_start(model_id, cold_start_s))
    except (redis.ConnectionError, redis.TimeoutError) as error:
        log.warning("could not record the cold start of %s: %s", model_id, error)


def run_worker(settings: Settings, redis_url: str, model_id: str) -> None:
    """Serve one model's queue until SIGTERM (warm shutdown: the current image is finished)."""
    started_at = time.time()
    if settings.model(model_id) is None:
        served = ", ".join(m.id for m in settings.models)
        raise SystemExit(f"model {model_id!r} is not served (served: {served})")
    configure_logging(settings, "worker")
    # Served by this parent process: the prefork child records the job metrics, which reach it
    # through PROMETHEUS_MULTIPROC_DIR (the chart's emptyDir).
    start_metrics_server(settings, "worker")
    app = build_worker_app(settings, redis_url, model_id, started_at)
    worker = app.Worker(
        queues=[keys.queue(model_id)],
        pool="prefork",
        concurrency=1,
        prefetch_multiplier=1,
        loglevel=settings.log_level.upper(),
        quiet=not is_verbose(settings),  # Celery's banner and config dump only at debug
        without_mingle=True,
        without_gossip=True,
        without_heartbeat=True,
        optimization="fair",
    )
    worker.start()
    raise SystemExit(worker.exitcode)
