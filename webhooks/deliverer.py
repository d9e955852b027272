"""One webhook delivery attempt from the due set: read the job, attempt, record the verdict."""

from __future__ import annotations

import logging
import random
import time

import httpx

from sdq.settings import Settings
from sdq.storage import output_links
from sdq.storage_factory import make_storage
from sdq.store.jobs import get_job
from sdq.store.ops import OpRunner
from sdq.store.webhooks import get_delivery, record_attempt
from webhooks.retry_policy import Outcome
from webhooks.secret import webhook_secret
from webhooks.sender import attempt_delivery, event_view

log = logging.getLogger(__name__)


def public_base_url(settings: Settings) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


class WebhookDeliverer:
    """Runs one attempt of one delivery and records it (called from Celery's worker threads)."""

    def __init__(self, settings: Settings, store: OpRunner) -> None:
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
