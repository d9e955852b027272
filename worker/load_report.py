"""When a worker's model cannot load: the cause goes to the store, and after too many failures in
a row the model's queued jobs fail with it (their `completed` webhooks go out)."""

from __future__ import annotations

import logging

from sdq import metrics
from sdq.job import JobStatus, Transition
from sdq.store.jobs import queued_job_ids, transition
from sdq.store.model_health import LoadRetry, ModelHealth, record_failure
from sdq.store.ops import OpRunner
from worker.engines.load_errors import LoadFailure

log = logging.getLogger(__name__)


def job_error(health: ModelHealth) -> str:
    """What a job failed for its model's sake says."""
    return (
        f"model {health.model} could not be loaded ({health.attempts} failed attempts in a row): "
        f"{health.error}"
    )


def fail_queued_jobs(
    store: OpRunner, model_id: str, error: str, retention_s: int, now: float
) -> int:
    """Fail every queued job of the model with `error`; how many were failed. A job claimed or
    canceled meanwhile is left as it is (the transition starts from `queued` only)."""
    failed = 0
    while ids := store.run(queued_job_ids(model_id)):
        done = [
            store.run(
                transition(
                    Transition.FAIL_QUEUED,
                    job_id,
                    to=JobStatus.FAILED,
                    retention_s=retention_s,
                    now=now,
                    fields={"error": error, "completed_at": now},
                )
            )
            for job_id in ids
        ]
        now_failed = sum(1 for job in done if job is not None)
        metrics.job_finished(model_id, JobStatus.FAILED, now_failed)
        failed += now_failed
        if not any(done):
            break  # none of them was queued any more: nothing left to do this time
    return failed


def report_load_failure(
    store: OpRunner,
    model_id: str,
    failure: LoadFailure,
    retry: LoadRetry,
    retention_s: int,
    now: float,
) -> tuple[ModelHealth, int]:
    """Record one more failed load; past `retry.max_failures` in a row, fail the queued jobs.
    Returns the model's health after it and how many jobs were failed."""
    health = store.run(record_failure(model_id, failure.cause.value, failure.message, now))
    failed = 0
    if health.refuses_jobs(retry):
        failed = fail_queued_jobs(store, model_id, job_error(health), retention_s, now)
        if failed:
            log.warning("failed %d queued job(s) of %s: %s", failed, model_id, job_error(health))
    return health, failed
