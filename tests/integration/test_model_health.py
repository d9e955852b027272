"""A model's health on a real Redis: failed loads in a row, reset by a load; after too many, the
model's queued jobs fail with the cause (their webhooks scheduled) and nothing else changes."""

from __future__ import annotations

import json
import time

import redis

from sdq.job import Job, JobStatus, Transition, WebhookEvent, new_job_id
from sdq.store import redis_keys as keys
from sdq.store.jobs import create_job, get_job, queued_summary, transition
from sdq.store.model_health import (
    LoadRetry,
    ModelHealth,
    ModelStatus,
    get_health,
    record_failure,
    record_loaded,
)
from sdq.store.ops import OpRunner
from tests.helpers import stream_entries
from worker.engines.load_errors import LoadCause, LoadFailure
from worker.load_report import report_load_failure

RETENTION = 3600
MODEL = "bad/model"


def new_job(store: OpRunner, model: str = MODEL, webhook: str | None = None) -> Job:
    job = Job(
        id=new_job_id(),
        model=model,
        input={"prompt": "dog"},
        created_at=time.time(),
        webhook=webhook,
        webhook_events_filter=[WebhookEvent.COMPLETED] if webhook else [],
    )
    assert store.run(create_job(job, RETENTION)).created
    return job


def test_failed_loads_count_up_in_a_row_and_a_load_resets_them(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    assert store.run(get_health(MODEL)) == ModelHealth(model=MODEL)

    first = store.run(record_failure(MODEL, "not_found", "bad/model was not found", 100.0))
    assert (first.status, first.attempts, first.since, first.failed_at) == (
        ModelStatus.UNAVAILABLE,
        1,
        100.0,
        100.0,
    )
    second = store.run(record_failure(MODEL, "no_network", "no network", 130.0))
    assert (second.attempts, second.since, second.failed_at) == (2, 100.0, 130.0)
    assert (second.cause, second.error) == ("no_network", "no network")
    assert store.run(get_health(MODEL)) == second

    store.run(record_loaded(MODEL))
    assert store.run(get_health(MODEL)) == ModelHealth(model=MODEL)
    again = store.run(record_failure(MODEL, "gated", "gated", 500.0))
    assert (again.attempts, again.since) == (1, 500.0)


def test_after_max_failures_the_queued_jobs_fail_with_the_cause_and_their_webhooks_fire(
    redis_client: redis.Redis,
) -> None:
    store = OpRunner(redis_client)
    retry = LoadRetry(backoff_s=1.0, backoff_max_s=1.0, max_failures=2)
    failure = LoadFailure(
        LoadCause.NOT_DIFFUSERS, "/m is not a diffusers folder: it has no model_index.json"
    )
    queued = [new_job(store, webhook="http://127.0.0.1:9/hook") for _ in range(2)]
    other_model = new_job(store, model="sdq/tiny")
    running = new_job(store)
    store.run(transition(Transition.CLAIM, running.id, retention_s=RETENTION, now=time.time()))

    health, failed = report_load_failure(store, MODEL, failure, retry, RETENTION, time.time())
    assert (health.attempts, failed) == (1, 0)
    assert store.run(queued_summary(MODEL))[0] == 2, "one failure fails no job"

    health, failed = report_load_failure(store, MODEL, failure, retry, RETENTION, time.time())
    assert (health.attempts, failed) == (2, 2)
    for job in queued:
        done = store.run(get_job(job.id))
        assert done is not None and done.status is JobStatus.FAILED
        assert done.error == (
            "model bad/model could not be loaded (2 failed attempts in a row): "
            "/m is not a diffusers folder: it has no model_index.json"
        )
        assert done.completed_at is not None
        kind, data = stream_entries(redis_client, keys.job_events(job.id))[-1][1].values()
        assert (kind, json.loads(data)["status"]) == ("completed", "failed")
        assert redis_client.hexists(keys.job_webhooks(job.id), f"msg_{job.id}_completed")
        assert redis_client.zscore(keys.webhooks_due(), f"{job.id}|msg_{job.id}_completed")
    assert store.run(queued_summary(MODEL)) == (0, None)
    assert store.run(get_job(other_model.id)).status is JobStatus.QUEUED  # type: ignore[union-attr]
    assert store.run(get_job(running.id)).status is JobStatus.RUNNING  # type: ignore[union-attr]
