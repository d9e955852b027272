"""A model's measured timings on a real Redis: the median of its recent cold starts (the newest
few kept) and of its recent succeeded jobs' predict times, other models' left out."""

from __future__ import annotations

import time
import uuid

import redis

from sdq.job import Job, JobMetrics, JobStatus, Transition, new_job_id
from sdq.store.jobs import create_job, transition
from sdq.store.model_timings import COLD_START_SAMPLE, model_timings, record_cold_start
from sdq.store.ops import OpRunner
from tests.integration.test_store import RETENTION, claim


def finished(store: OpRunner, model: str, predict_time: float, status: JobStatus) -> None:
    job = Job(id=new_job_id(), model=model, input={}, created_at=time.time())
    assert store.run(create_job(job, RETENTION)).created
    running = claim(store, job.id, "w1")
    assert running is not None
    metrics = JobMetrics(predict_time=predict_time)
    store.run(
        transition(
            Transition.FINISH,
            job.id,
            to=status,
            attempt=running.attempt,
            worker_id="w1",
            retention_s=RETENTION,
            now=time.time(),
            fields={"metrics": metrics, "completed_at": time.time()},
        )
    )


def test_nothing_measured_yet(redis_client: redis.Redis) -> None:
    timings = OpRunner(redis_client).run(model_timings(f"t/{uuid.uuid4().hex[:8]}"))
    assert (timings.p50_predict_s, timings.p50_cold_start_s) == (None, None)


def test_medians_of_the_recent_cold_starts_and_succeeded_jobs(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    model, other = f"t/{uuid.uuid4().hex[:8]}", f"t/{uuid.uuid4().hex[:8]}"
    for seconds in [100.0] * COLD_START_SAMPLE + [4.0, 6.0, 5.0]:
        store.run(record_cold_start(model, seconds))
    for predict_time in (1.0, 3.0, 2.0):
        finished(store, model, predict_time, JobStatus.SUCCEEDED)
    finished(store, model, 50.0, JobStatus.FAILED)  # not a measure of a job's length
    finished(store, other, 70.0, JobStatus.SUCCEEDED)
    timings = store.run(model_timings(model))
    assert timings.p50_predict_s == 2.0
    # 20 kept: the three newest and 17 of the old hundreds.
    assert timings.p50_cold_start_s == 100.0
    assert redis_client.llen(f"sdq:model:{model}:cold-starts") == COLD_START_SAMPLE
