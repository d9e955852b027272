"""The webhook service (`sdq webhooks`): a CPU-only Celery worker that delivers webhook attempts,
and a pump thread that hands it the deliveries that are due. Never imports torch."""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any

import httpx
from celery import Celery
from celery.signals import worker_ready, worker_shutdown

from sdq import keys
from sdq.logs import configure_logging
from sdq.queue import make_celery
from sdq.redis_connect import sync_redis
from sdq.settings import Settings
from sdq.storage import output_links
from sdq.storage_factory import make_storage
from sdq.store import JobStore, get_job
from sdq.webhook_policy import Outcome
from sdq.webhook_secret import webhook_secret
from sdq.webhook_sender import attempt_delivery, event_view
from sdq.webhook_store import claim_due, get_delivery, next_due_at, record_attempt

log = logging.getLogger(__name__)

DELIVER_TASK = "sdq.deliver_webhook"


def public_base_url(settings: Settings) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


class WebhookDeliverer:
    """Runs one attempt of one delivery and records it (called from Celery's worker threads)."""

    def __init__(self, settings: Settings, store: JobStore) -> None:
        self.settings = settings
        self.store = store
        self.secret = webhook_secret(settings)
        self.base_url = public_base_url(settings)
        self.link = output_links(make_storage(settings), self.base_url)
        self.http = httpx.Client(http2=False, trust_env=False)
        self.rng = random.Random()

    def deliver(self, job_id: str, delivery_id: str) -> Outcome | None:
        delivery = self.store.run(get_delivery(job_id, delivery_id))
        if delivery is None:
            return None
        if delivery.state != "pending":  # a duplicate hand-off: just take it off the due set
            self.store.run(record_attempt(job_id, delivery, None))
            return None
        job = self.store.run(get_job(job_id))
        view = event_view(job, delivery.event) if job is not None else None
        if view is None:
            reason = (
                "the prediction expired" if job is None else "superseded: the prediction finished"
            )
            gone = delivery.model_copy(update={"state": Outcome.GAVE_UP.value, "reason": reason})
            self.store.run(record_attempt(job_id, gone, None))
            return Outcome.GAVE_UP
        attempt, verdict = attempt_delivery(
            view,
            delivery,
            http=self.http,
            settings=self.settings,
            secret=self.secret,
            base_url=self.base_url,
            rng=self.rng,
            link=self.link,
        )
        state = "pending" if verdict.outcome is Outcome.RETRY else verdict.outcome.value
        updated = delivery.model_copy(
            update={
                "attempts": [*delivery.attempts, attempt],
                "state": state,
                "reason": verdict.reason,
            }
        )
        next_due = time.time() + verdict.retry_in_s if verdict.retry_in_s is not None else None
        self.store.run(record_attempt(job_id, updated, next_due))
        log.info(
            "webhook %s %s attempt %d: %s",
            delivery.event, delivery.id, len(updated.attempts), verdict.reason,
            extra={"job_id": job_id},
        )  # fmt: skip
        return verdict.outcome


class DuePump:
    """Moves due deliveries onto the Celery queue; sleeps until the next is due or a nudge."""

    def __init__(self, settings: Settings, store: JobStore, app: Celery) -> None:
        self.settings = settings
        self.store = store
        self.app = app
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="webhook-pump", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)

    def pump_once(self) -> int:
        taken = self.store.run(claim_due(time.time(), self.settings.webhook_lease_s))
        for job_id, delivery_id in taken:
            self.app.send_task(
                DELIVER_TASK, args=[job_id, delivery_id], queue=keys.webhooks_queue()
            )
        return len(taken)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                if self.pump_once():
                    continue
                upcoming = self.store.run(next_due_at())
                wait = 2.0 if upcoming is None else upcoming - time.time()
                self.store.redis.blpop([keys.webhooks_wake()], timeout=min(max(wait, 0.01), 2.0))
            except Exception:  # the pump must outlive any one failure (Redis down, a bad entry)
                log.warning("webhook pump: pass failed; retrying in 1 s", exc_info=True)
                self.stopping.wait(1.0)


def build_webhook_app(settings: Settings, redis_url: str) -> Celery:
    app = make_celery(settings, redis_url)
    app.conf.task_default_queue = keys.webhooks_queue()
    app.conf.worker_prefetch_multiplier = 4
    store = JobStore(sync_redis(redis_url, decode_responses=True, socket_timeout=30))
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
    app = build_webhook_app(settings, redis_url)
    worker = app.Worker(
        queues=[keys.webhooks_queue()],
        pool="threads",
        concurrency=settings.webhook_concurrency,
        loglevel=settings.log_level.upper(),
        without_mingle=True,
        without_gossip=True,
        without_heartbeat=True,
    )
    worker.start()
    raise SystemExit(worker.exitcode)
