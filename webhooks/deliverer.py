"""One webhook delivery attempt from the due set: read the job, attempt, record the verdict."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

import httpx

from sdq import metrics
from sdq.settings import Settings
from sdq.signed_links import LinkSigner
from sdq.storage import output_links
from sdq.storage_factory import make_storage
from sdq.store.jobs import get_job
from sdq.store.link_secret import LinkSecret, read_or_create_link_secret
from sdq.store.ops import OpRunner
from sdq.store.webhooks import Delivery, DeliveryAttempt, drop_due, get_delivery, record_attempt
from webhooks.retry_policy import Outcome, Verdict, keep_record_s
from webhooks.secret import TenantSecrets
from webhooks.sender import attempt_delivery, event_view, internal_failure

log = logging.getLogger(__name__)


def public_base_url(settings: Settings) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


# A delivery's state after an attempt, as `sdq_webhook_deliveries_total` names it.
DELIVERY_OUTCOMES = {
    Outcome.DELIVERED: "delivered",
    Outcome.RETRY: "retrying",
    Outcome.GAVE_UP: "gave_up",
}


def count_attempt(delivery: Delivery, attempt: DeliveryAttempt | None, outcome: Outcome) -> None:
    """The attempt's answer and the delivery's state after it, in the webhook metrics; no attempt
    made (nothing left to send) counts as `stopped`."""
    if attempt is None:
        metrics.webhook_delivery(delivery.event, "stopped")
        return
    metrics.webhook_attempt(attempt.status_code)
    since_event = time.time() - delivery.created_at if outcome is Outcome.DELIVERED else None
    metrics.webhook_delivery(delivery.event, DELIVERY_OUTCOMES[outcome], since_event)


class WebhookDeliverer:
    """Runs one attempt of one delivery and records it (called from Celery's worker threads).

    Every attempt is recorded with its verdict, whatever failed, so a delivery is never handed out
    again by its lease alone; only a Redis that cannot be written leaves that to the lease. A due
    entry whose delivery is gone leaves the due set.
    """

    def __init__(self, settings: Settings, store: OpRunner) -> None:
        self.settings = settings
        self.store = store
        self.secrets = TenantSecrets(settings, store)
        self.base_url = public_base_url(settings)
        self.storage = make_storage(settings)
        self.link_secret = LinkSecret(settings)
        self.http = httpx.Client(http2=False, trust_env=False)
        self.rng = random.Random()

    def deliver(self, job_id: str, delivery_id: str) -> Outcome | None:
        """Attempt the delivery and record it; the verdict, or None when there was nothing to
        attempt (the delivery is gone, unreadable or already settled)."""
        try:
            delivery = self.store.run(get_delivery(job_id, delivery_id))
        except ValueError:  # not JSON, or not a delivery: it can never be attempted
            log.exception("webhook %s: unreadable record; dropped", delivery_id,
                          extra={"job_id": job_id})  # fmt: skip
            self.store.run(drop_due(job_id, delivery_id, unreadable=True))
            return None
        if delivery is None:  # the job's webhooks expired or the entry was removed
            if self.store.run(drop_due(job_id, delivery_id)):
                log.warning("webhook %s: no record left; dropped from the due set", delivery_id,
                            extra={"job_id": job_id})  # fmt: skip
            return None
        if delivery.state != "pending":  # a duplicate hand-off: just take it off the due set
            retention = self.settings.job_retention_s
            self.store.run(record_attempt(job_id, delivery, None, retention_s=retention))
            return None
        started = time.time()
        try:
            attempt, verdict = self._attempt(job_id, delivery)
        except Exception as failure:  # sdq's own fault (an unreadable job...): still an attempt
            log.exception("webhook %s: the attempt failed in sdq", delivery.id,
                          extra={"job_id": job_id})  # fmt: skip
            attempt, verdict = internal_failure(
                delivery, failure, started=started,
                duration_ms=round((time.time() - started) * 1000, 2),
                settings=self.settings, rng=self.rng,
            )  # fmt: skip
        updated = self._record(job_id, delivery, attempt, verdict)
        count_attempt(delivery, attempt, verdict.outcome)
        log.info(
            "webhook %s %s attempt %d: %s",
            delivery.event, delivery.id, len(updated.attempts), verdict.reason,
            extra={"job_id": job_id},
        )  # fmt: skip
        return verdict.outcome

    def _attempt(self, job_id: str, delivery: Delivery) -> tuple[DeliveryAttempt | None, Verdict]:
        """One attempt, or (None, gave up) when there is nothing to send any more."""
        job = self.store.run(get_job(job_id))
        view = event_view(job, delivery.event) if job is not None else None
        if view is None:
            reason = (
                "the prediction expired" if job is None else "superseded: the prediction finished"
            )
            return None, Verdict(Outcome.GAVE_UP, reason)
        return attempt_delivery(
            view,
            delivery,
            http=self.http,
            settings=self.settings,
            secret=self.secrets.for_tenant(view.tenant),
            base_url=self.base_url,
            rng=self.rng,
            link=self._links(),
        )

    def _links(self) -> Callable[[str], str]:
        """Output key -> the link handed out in this attempt's payload (signed, expiring)."""
        now = time.monotonic()
        key = self.link_secret.held(now) or self.link_secret.keep(
            self.store.run(read_or_create_link_secret()), now
        )
        signer = LinkSigner(key, self.settings.link_ttl_s)
        return output_links(self.storage, self.base_url, signer, time.time())

    def _record(
        self, job_id: str, delivery: Delivery, attempt: DeliveryAttempt | None, verdict: Verdict
    ) -> Delivery:
        """Save the attempt and verdict; a retry is rescheduled and its record (and job) kept
        until its last possible attempt, a settled delivery leaves the due set."""
        attempts = delivery.attempts if attempt is None else [*delivery.attempts, attempt]
        next_due: float | None = None
        keep = 0
        if verdict.outcome is Outcome.RETRY and verdict.retry_in_s is not None:
            next_due = time.time() + verdict.retry_in_s
            keep = keep_record_s(
                until_next_s=verdict.retry_in_s,
                attempts_made=len(attempts),
                schedule_s=self.settings.webhook_retry_schedule_s,
                jitter=self.settings.webhook_retry_jitter,
                lease_s=self.settings.webhook_lease_s,
            )
        state = "pending" if next_due is not None else verdict.outcome.value
        updated = delivery.model_copy(
            update={"attempts": attempts, "state": state, "reason": verdict.reason}
        )
        self.store.run(
            record_attempt(
                job_id, updated, next_due, retention_s=self.settings.job_retention_s, keep_s=keep
            )
        )
        return updated
