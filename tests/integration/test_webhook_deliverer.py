"""Delivering from the due set on a real Redis to a real receiver: every attempt is recorded,
entries whose delivery is gone leave the due set, and records live as long as their schedule."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from sdq.celery_app import make_celery
from sdq.job import Job, JobStatus, Transition, WebhookEvent, new_job_id
from sdq.settings import Settings
from sdq.store import redis_keys as keys
from sdq.store.jobs import create_job, transition
from sdq.store.ops import OpRunner
from sdq.store.webhooks import claim_due, list_deliveries, member
from tests.receiver import Receiver
from webhooks.deliverer import WebhookDeliverer
from webhooks.pump import DuePump
from webhooks.retry_policy import Outcome

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
DEFAULT_SCHEDULE = [5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 10800.0, 21600.0, 43200.0]


@pytest.fixture
def store(redis_client: redis.Redis) -> OpRunner:
    return OpRunner(redis_client)


@pytest.fixture
def settings(tmp_path: Path, redis_url: str) -> Settings:
    """The default schedule, jitter, lease and retention; loopback receivers allowed."""
    return Settings(
        redis_url=redis_url,
        data_dir=tmp_path,
        webhook_allow_private=True,
        webhook_secret=SECRET,
        webhook_retry_schedule_s=DEFAULT_SCHEDULE,
    )


def finished_with_webhook(store: OpRunner, settings: Settings, url: str) -> tuple[Job, str]:
    """A prediction that succeeded with a `completed` webhook to `url`: the delivery is due now."""
    job = Job(
        id=new_job_id(), model="sdq/tiny", input={"prompt": "x"}, created_at=time.time(),
        webhook=url, webhook_events_filter=[WebhookEvent.COMPLETED],
    )  # fmt: skip
    retention = settings.job_retention_s
    assert store.run(create_job(job, retention)).created
    fields = {"worker_id": "w1", "started_at": time.time()}
    claimed = store.run(
        transition(Transition.CLAIM, job.id, retention_s=retention, fields=fields, now=time.time())
    )
    assert claimed is not None
    done = store.run(
        transition(
            Transition.FINISH, job.id, to=JobStatus.SUCCEEDED, attempt=claimed.attempt,
            worker_id="w1", retention_s=retention, fields={"completed_at": time.time()},
            now=time.time(),
        )
    )  # fmt: skip
    assert done is not None
    return job, f"msg_{job.id}_completed"


def take(store: OpRunner, settings: Settings) -> tuple[float, list[tuple[str, str]]]:
    """What the pump does: lease the due deliveries."""
    now = time.time()
    return now, store.run(claim_due(now, settings.webhook_lease_s))


def due_at(client: redis.Redis, job_id: str, delivery_id: str) -> float | None:
    return client.zscore(keys.webhooks_due(), member(job_id, delivery_id))


def test_an_unreadable_retry_after_is_recorded_and_retried_on_the_schedule(
    store: OpRunner, settings: Settings, redis_client: redis.Redis, receiver: Receiver
) -> None:
    url = receiver.script("/busy", (429, {"Retry-After": "\u00b2"}))
    job, delivery_id = finished_with_webhook(store, settings, url)
    taken_at, taken = take(store, settings)
    assert taken == [(job.id, delivery_id)]
    assert WebhookDeliverer(settings, store).deliver(job.id, delivery_id) is Outcome.RETRY
    [delivery] = store.run(list_deliveries(job.id))
    assert delivery.state == "pending"
    assert [a.status_code for a in delivery.attempts] == [429]
    due = due_at(redis_client, job.id, delivery_id)
    assert due is not None
    assert taken_at + 5 * 0.8 <= due < taken_at + settings.webhook_lease_s  # 5 s +-20 %
    assert len(receiver.at("/busy")) == 1


def test_a_failure_in_our_own_code_is_recorded_as_an_attempt_with_a_verdict(
    store: OpRunner, settings: Settings, redis_client: redis.Redis, receiver: Receiver
) -> None:
    job, delivery_id = finished_with_webhook(store, settings, receiver.script("/x", 200))
    redis_client.hset(keys.job(job.id), "status", "no-such-status")  # the record cannot be read
    taken_at, _ = take(store, settings)
    assert WebhookDeliverer(settings, store).deliver(job.id, delivery_id) is Outcome.RETRY
    [delivery] = store.run(list_deliveries(job.id))
    [attempt] = delivery.attempts
    assert attempt.status_code is None and "internal error" in (attempt.error or "")
    assert delivery.state == "pending" and "retry in" in (delivery.reason or "")
    due = due_at(redis_client, job.id, delivery_id)
    assert due is not None and due < taken_at + settings.webhook_lease_s
    assert receiver.requests == []


@pytest.mark.parametrize("loss", ["record expired", "delivery deleted", "record unreadable"])
def test_a_due_entry_whose_delivery_is_gone_leaves_the_due_set(
    loss: str,
    store: OpRunner,
    settings: Settings,
    redis_client: redis.Redis,
    receiver: Receiver,
) -> None:
    job, delivery_id = finished_with_webhook(store, settings, receiver.script("/x", 200))
    _, taken = take(store, settings)
    assert taken == [(job.id, delivery_id)]
    hooks = keys.job_webhooks(job.id)
    if loss == "record expired":
        redis_client.expire(hooks, 0)
    elif loss == "delivery deleted":
        redis_client.hset(hooks, "msg_other", "{}")
        redis_client.hdel(hooks, delivery_id)
    else:
        redis_client.hset(hooks, delivery_id, "{not json")
    assert WebhookDeliverer(settings, store).deliver(job.id, delivery_id) is None
    assert due_at(redis_client, job.id, delivery_id) is None  # not leased again, gone
    assert receiver.requests == []


def test_a_malformed_due_entry_is_dropped_not_handed_out(
    store: OpRunner, settings: Settings, redis_client: redis.Redis
) -> None:
    redis_client.zadd(keys.webhooks_due(), {"no-separator": 1.0})
    _, taken = take(store, settings)
    assert taken == []
    assert redis_client.zscore(keys.webhooks_due(), "no-separator") is None


def test_a_completed_webhook_and_its_prediction_outlive_the_whole_default_schedule(
    store: OpRunner, settings: Settings, redis_client: redis.Redis, redis_url: str
) -> None:
    assert settings.job_retention_s == 86_400 and settings.webhook_retry_jitter == 0.2
    DuePump(settings, store, make_celery(settings, redis_url)).publish_schedule()
    job, _ = finished_with_webhook(store, settings, "http://127.0.0.1:9/hook")
    worst = sum(DEFAULT_SCHEDULE) * (1 + settings.webhook_retry_jitter)  # 98,106 s
    assert worst > settings.job_retention_s
    assert redis_client.ttl(keys.job_webhooks(job.id)) > worst
    assert redis_client.ttl(keys.job(job.id)) > worst  # the payload is made from it


def test_each_retry_keeps_the_record_until_the_rest_of_the_schedule(
    store: OpRunner, settings: Settings, redis_client: redis.Redis, receiver: Receiver
) -> None:
    url = receiver.script("/later", (503, {"Retry-After": "86400"}))  # a day: the cap
    job, delivery_id = finished_with_webhook(store, settings, url)
    take(store, settings)
    assert WebhookDeliverer(settings, store).deliver(job.id, delivery_id) is Outcome.RETRY
    rest = sum(DEFAULT_SCHEDULE[1:]) * (1 + settings.webhook_retry_jitter)
    assert redis_client.ttl(keys.job_webhooks(job.id)) > 86_400 + rest
    assert redis_client.ttl(keys.job(job.id)) > 86_400 + rest
