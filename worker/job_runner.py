"""One delivery of a generation token: claim the next job, generate, store outputs, finish it."""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from celery.exceptions import SoftTimeLimitExceeded

from sdq import metrics
from sdq.inputs import GenerationInput
from sdq.job import Job, JobMetrics, JobStatus, Transition
from sdq.logs import current_job_id
from sdq.storage import StorageFull, output_key
from sdq.store.job_files import note_files
from sdq.store.jobs import claim_next, transition
from worker.engines.base import GenerationCanceled
from worker.init_image import load_init_image
from worker.png import encode_png
from worker.progress import ProgressReporter
from worker.runtime import WorkerRuntime

log = logging.getLogger(__name__)


def run_next(
    runtime: WorkerRuntime, model_id: str, token: str, delivery_id: str | None = None
) -> JobStatus | None:
    """Take and run the job the scheduler picks for this free worker (`sdq.scheduling`); a
    delivery is a token "run the next job of the model", whichever job sent it (`token`);
    `delivery_id` (the Celery task id) keeps a retried claim call to the job it claimed.

    Returns the terminal status written, or None when nothing was queued any more (a duplicate
    or superseded token: its job was taken by another, canceled or aborted) or the attempt lost
    its claim to recovery meanwhile (its outputs are removed again), or the worker's output
    storage is short of space: then nothing is claimed and the job waits for a worker that can
    save it (this one too, once space is freed; its token comes back through re-delivery).
    """
    if runtime.disk is not None and not runtime.disk.check().ok:
        return None
    now = time.time()
    claimed = runtime.store.run(
        claim_next(
            model_id,
            worker_id=runtime.worker_id,
            retention_s=runtime.settings.job_retention_s,
            now=now,
            delivery_id=delivery_id,
        )
    )
    if claimed.aborted:
        log.info("aborted %d queued job(s) whose deadline had passed", claimed.aborted)
        metrics.job_finished(model_id, JobStatus.ABORTED, claimed.aborted)
    job = claimed.job
    if job is None:
        log.info("nothing claimed for token %s: no job of the model can start now", token)
        return None
    context = current_job_id.set(job.id)
    busy_since = time.perf_counter()
    try:
        runtime.heartbeat.busy(job.id)
        try:
            return _execute(runtime, job)
        finally:
            runtime.heartbeat.idle()
            metrics.gpu_busy(model_id, time.perf_counter() - busy_since)
    finally:
        current_job_id.reset(context)


def _execute(runtime: WorkerRuntime, job: Job) -> JobStatus | None:
    request = GenerationInput.model_validate(job.input)
    assert job.started_at is not None and request.seed is not None
    log.info("started attempt %d on %s", job.attempt, runtime.worker_id)
    keys: list[str] = []
    fields: dict[str, Any] = {}
    reporter = ProgressReporter(runtime, job, request)
    started = time.perf_counter()
    try:
        init_image = load_init_image(runtime.storage, request)
        images = runtime.engine.generate(request, on_step=reporter, init_image=init_image)
        predict_time = time.perf_counter() - started
        runtime.store.run(note_files(job.id, time.time()))  # before any file: never orphaned
        for index, image in enumerate(images):
            key = output_key(job.id, f"out-{job.attempt}-{index}.png")
            data = encode_png(image, request, job.model, request.seed + index)
            runtime.storage.put(key, data, "image/png")
            keys.append(key)
        reporter.output(keys)
        status, fields = JobStatus.SUCCEEDED, {"output": keys}
    except GenerationCanceled:
        predict_time = time.perf_counter() - started
        status, fields = JobStatus.CANCELED, {}
        if reporter.stopped_by_deadline is not None:
            fields = {"error": reporter.stopped_by_deadline}
            log.info("%s", reporter.stopped_by_deadline)
    except (redis.ConnectionError, redis.TimeoutError):
        # Redis went away mid-job: its outcome cannot be written, and "failed" would be wrong.
        # The broker watch retires this worker; recovery runs the job again.
        log.warning("Redis unreachable during the job: leaving it to recovery")
        raise
    except StorageFull as error:  # the cause in one line; retrying on this storage cannot help
        predict_time = time.perf_counter() - started
        log.error("could not store the output: %s", error)
        status, fields = JobStatus.FAILED, {"error": str(error)}
    except SoftTimeLimitExceeded:
        predict_time = time.perf_counter() - started
        limit = runtime.settings.job_soft_time_limit_s
        status, fields = JobStatus.FAILED, {"error": f"job exceeded its time limit of {limit} s"}
    except Exception as error:
        predict_time = time.perf_counter() - started
        log.exception("generation failed")
        status, fields = JobStatus.FAILED, {"error": f"{type(error).__name__}: {error}"}
    if status is not JobStatus.SUCCEEDED:
        _discard(runtime, keys)  # the images stored before the failure belong to no output
        keys = []
    completed_at = time.time()
    timings = JobMetrics(
        queue_wait=round(job.started_at - job.created_at, 6),
        predict_time=round(predict_time, 6),
        total_time=round(completed_at - job.created_at, 6),
    )
    settings = runtime.settings
    finished = runtime.store.run_replicated(
        transition(
            Transition.FINISH,
            job.id,
            to=status,
            attempt=job.attempt,
            worker_id=runtime.worker_id,
            retention_s=settings.job_retention_s,
            fields=fields | {"completed_at": completed_at, "metrics": timings},
            now=completed_at,
        ),
        settings.redis_replica_acks,
        settings.redis_replica_ack_timeout_ms,
    )
    done = finished.value
    if done is not None and finished.replicas < settings.redis_replica_acks:
        log.warning(
            "the outcome was confirmed by %d of %d Redis replica(s): a failover now would "
            "run the job again",
            finished.replicas,
            settings.redis_replica_acks,
        )
    if done is None:
        log.warning("attempt %d was superseded (the job was recovered elsewhere)", job.attempt)
        _discard(runtime, keys)
        return None
    if status is JobStatus.SUCCEEDED:
        remove_strays(runtime, job.id, keep={*keys, *([request.image] if request.image else [])})
    log.info("%s in %.3f s (queue wait %.3f s)", status.value, predict_time, timings.queue_wait)
    metrics.job_finished(job.model, status)
    queue_wait, end_to_end = job.started_at - job.created_at, completed_at - job.created_at
    metrics.job_timings(job.model, queue_wait, predict_time, end_to_end)
    return status


def remove_strays(runtime: WorkerRuntime, job_id: str, keep: set[str]) -> None:
    """Remove the files an earlier attempt wrote before its worker was lost (this attempt's
    outputs and the starting image stay). Best effort: what stays goes when the record expires."""
    try:
        strays = [key for key in runtime.storage.job_keys(job_id) if key not in keep]
        for key in strays:
            runtime.storage.delete(key)
    except Exception:
        log.warning("could not remove the files of earlier attempts", exc_info=True)
        return
    if strays:
        log.info("removed %d files of earlier attempts", len(strays))


def _discard(runtime: WorkerRuntime, keys: list[str]) -> None:
    """Remove outputs no job record points to; a failing removal costs only the space."""
    for key in keys:
        try:
            runtime.storage.delete(key)
        except Exception as error:
            log.warning("could not remove the unused output %s: %s", key, error)
