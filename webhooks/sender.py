"""One webhook delivery attempt: check the target again, sign (Standard Webhooks), POST, judge."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from sdq.job import Job, JobMetrics, JobStatus, WebhookEvent
from sdq.prediction import prediction
from sdq.settings import Settings
from sdq.ssrf import Resolver, UnsafeUrl, check_webhook_url, system_resolver
from sdq.store.webhooks import Delivery, DeliveryAttempt
from webhooks.retry_policy import Outcome, Verdict, judge_attempt, parse_retry_after

USER_AGENT = "sdq-webhooks/1"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignedMessage:
    headers: dict[str, str]
    body: str


def sign(secret: str, message_id: str, body: str, now: float) -> SignedMessage:
    """Standard Webhooks headers: id, unix timestamp, v1 HMAC-SHA256 over id.timestamp.body."""
    timestamp = int(now)
    signature = Webhook(secret).sign(message_id, datetime.fromtimestamp(timestamp, UTC), body)
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    return SignedMessage(headers, body)


def event_view(job: Job, event: str) -> Job | None:
    """The prediction as the receiver should see it for this event; None when the event is
    stale (an intermediate event of a prediction that has finished: `completed` supersedes it)."""
    if event == WebhookEvent.START:
        return job.model_copy(
            update={
                "status": JobStatus.RUNNING,
                "completed_at": None,
                "output": [],
                "error": None,
                "logs": "",
                "metrics": JobMetrics(queue_wait=job.metrics.queue_wait),
            }
        )
    if event in (WebhookEvent.LOGS, WebhookEvent.OUTPUT) and job.status.is_terminal:
        return None
    return job


def judge(
    delivery: Delivery,
    *,
    status_code: int | None,
    error: str | None,
    retry_after_s: float | None,
    settings: Settings,
    rng: random.Random,
) -> Verdict:
    """The verdict on this delivery's next attempt under the configured retry schedule."""
    return judge_attempt(
        attempt=len(delivery.attempts) + 1,
        status_code=status_code,
        error=error,
        retry_after_s=retry_after_s,
        best_effort=delivery.best_effort,
        schedule_s=settings.webhook_retry_schedule_s,
        jitter=settings.webhook_retry_jitter,
        rng=rng,
    )


def internal_failure(
    delivery: Delivery,
    failure: BaseException,
    *,
    started: float,
    duration_ms: float,
    settings: Settings,
    rng: random.Random,
) -> tuple[DeliveryAttempt, Verdict]:
    """An attempt that sdq itself failed (a bug, an unreadable record): recorded as an attempt
    with the error, and judged like a transport error, so it is retried on the schedule."""
    error = f"internal error: {type(failure).__name__}: {failure}"[:300]
    attempt = DeliveryAttempt(at=started, error=error, duration_ms=duration_ms)
    verdict = judge(
        delivery, status_code=None, error=error, retry_after_s=None, settings=settings, rng=rng
    )
    return attempt, verdict


def attempt_delivery(
    job: Job,
    delivery: Delivery,
    *,
    http: httpx.Client,
    settings: Settings,
    secret: str,
    base_url: str,
    rng: random.Random,
    link: Callable[[str], str] | None = None,
    resolve: Resolver = system_resolver,
) -> tuple[DeliveryAttempt, Verdict]:
    """Make one attempt. Never raises: the receiver's faults and sdq's own become the verdict."""
    started = time.time()
    clock = time.perf_counter()
    try:
        return _attempt(
            job, delivery, http=http, settings=settings, secret=secret, base_url=base_url,
            rng=rng, link=link, resolve=resolve, started=started, clock=clock,
        )  # fmt: skip
    except Exception as failure:
        log.exception(
            "webhook %s: the attempt failed in sdq", delivery.id, extra={"job_id": job.id}
        )
        duration_ms = round((time.perf_counter() - clock) * 1000, 2)
        return internal_failure(
            delivery, failure, started=started, duration_ms=duration_ms, settings=settings, rng=rng
        )


def _attempt(
    job: Job,
    delivery: Delivery,
    *,
    http: httpx.Client,
    settings: Settings,
    secret: str,
    base_url: str,
    rng: random.Random,
    link: Callable[[str], str] | None,
    resolve: Resolver,
    started: float,
    clock: float,
) -> tuple[DeliveryAttempt, Verdict]:
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    try:
        if not job.webhook:
            raise UnsafeUrl("the prediction has no webhook")
        target = check_webhook_url(job.webhook, settings.webhook_allow_private, resolve)
    except UnsafeUrl as refused:
        attempt = DeliveryAttempt(at=started, error=f"refused: {refused}", duration_ms=0.0)
        return attempt, Verdict(Outcome.GAVE_UP, f"target refused: {refused}")
    message = sign(secret, delivery.id, json.dumps(prediction(job, base_url, link=link)), started)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        response = http.post(
            target.connect_url,  # the checked address: a second DNS answer cannot swap it
            content=message.body,
            headers=message.headers | {"host": target.host_header},
            extensions=extensions,
            follow_redirects=False,
            timeout=settings.webhook_timeout_s,
        )
    except httpx.HTTPError as failure:
        error = f"{type(failure).__name__}: {failure}"[:300]
    else:
        status_code = response.status_code
        retry_after = parse_retry_after(response.headers.get("retry-after"), time.time())
    duration_ms = round((time.perf_counter() - clock) * 1000, 2)
    attempt = DeliveryAttempt(
        at=started, status_code=status_code, error=error, duration_ms=duration_ms
    )
    verdict = judge(
        delivery, status_code=status_code, error=error, retry_after_s=retry_after,
        settings=settings, rng=rng,
    )  # fmt: skip
    return attempt, verdict
