"""The webhook service (`sdq webhooks`): a CPU-only Celery worker that delivers webhook attempts,
and the pump thread that hands it the deliveries that are due. Never imports torch."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

from sdq.celery_app import make_celery
from sdq.logs import configure_logging, is_verbose
from sdq.metrics_server import start_metrics_server
from sdq.redis_connect import sync_redis
from sdq.settings import Settings
from sdq.store import redis_keys as keys
from sdq.store.ops import OpRunner
from webhooks.deliverer import WebhookDeliverer
from webhooks.pump import DELIVER_TASK, DuePump

log = logging.getLogger(__name__)


def build_webhook_app(settings: Settings, redis_url: str) -> Celery:
    app = make_celery(settings, redis_url)
    app.conf.task_default_queue = keys.webhooks_queue()
    app.conf.worker_prefetch_multiplier = 4
    store = OpRunner(sync_redis(redis_url, decode_responses=True, socket_timeout=30))
    deliverer = WebhookDeliverer(settings, store)
    pump = DuePump(settings, store, app)

    @app.task(name=DELIVER_TASK, acks_late=True, soft_time_limit=None, time_limit=None)
    def deliver_task(job_id: str, delivery_id: str) -> None:
        deliverer.deliver(job_id, delivery_id)

    @worker_ready.connect(weak=False)
    def _start_pump(**_: Any) -> None:
        pump.start()
        log.info("webhook service ready")

    @worker_shutdown.connect(weak=False)
    def _stop_pump(**_: Any) -> None:
        pump.stop()

    return app


def run_webhook_service(settings: Settings, redis_url: str) -> None:
    """Deliver webhooks until SIGTERM (in-flight attempts finish first)."""
    configure_logging(settings, "webhooks")
    start_metrics_server(settings, "webhooks")
    app = build_webhook_app(settings, redis_url)
    worker = app.Worker(
        queues=[keys.webhooks_queue()],
        pool="threads",
        concurrency=settings.webhook_concurrency,
        loglevel=settings.log_level.upper(),
        quiet=not is_verbose(settings),  # Celery's banner and config dump only at debug
        without_mingle=True,
        without_gossip=True,
        without_heartbeat=True,
    )
    worker.start()
    raise SystemExit(worker.exitcode)
