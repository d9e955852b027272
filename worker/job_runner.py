"""One delivery of a generation token: claim the next job (and its batch partners), generate,
store outputs, finish it."""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from celery.exceptions import SoftTimeLimitExceeded
from pydantic import ValidationError

from sdq import metrics
from sdq.inputs import GenerationInput
from sdq.job import Job, JobStatus
from sdq.logs import logging_for_job
from sdq.scheduling import Affinity
from sdq.storage import StorageFull
from sdq.store.jobs import claim_next
from sdq.store.ops import Op
from worker.batch_claim import claim_partners
from worker.batch_runner import run_batch
from worker.engines.base import GenerationCanceled
from worker.init_image import load_init_image, load_mask
from worker.job_finish import finish, store_outputs
from worker.progress import ProgressReporter
from worker.runtime import WorkerRuntime

log = logging.getLogger(__name__)


def run_next(
    runtime: WorkerRuntime, model_id: str, token: str, delivery_id: str | None = None
) -> JobStatus | None:
    """Take and run the job the scheduler picks for this free worker (`sdq.scheduling`: within
    the turn of a tenant, preferably one whose LoRA adapters it holds), with
    the queued jobs that may share its pipeline call when the model's policy batches; a
    delivery is a token "run the next job of the model", whichever job sent it (`token`);
    `delivery_id` (the Celery task id) keeps a retried claim call to the job it claimed.

    Returns the terminal status written (the first job's, for a batch), or None when nothing
    was queued any more (a duplicate or superseded token: its job was taken by another, canceled
    or aborted) or the attempt lost its claim to recovery meanwhile (its outputs are removed
    again), or the worker's output storage is short of space: then nothing is claimed and the
    job waits for a worker that can save it (this one too, once space is freed; its token comes
    back through re-delivery).
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
            affinity=Affinity(
                runtime.engine.held_adapters(),
                runtime.settings.adapter_affinity_window,
                runtime.settings.adapter_affinity_max_passes,
            ),
        )
    )
    if claimed.aborted:
        log.info("aborted %d queued job(s) whose deadline had passed", claimed.aborted)
        metrics.job_finished(model_id, JobStatus.ABORTED, claimed.aborted)
    job = claimed.job
    if job is None:
        log.info("nothing claimed for token %s: no job of the model can start now", token)
        return None
    with logging_for_job(job.id):
        busy_since = time.perf_counter()
        runtime.heartbeat.busy(job.id)
        try:
            request = _read_input(job)
            if isinstance(request, str):  # written by a newer API: fail it, naming the cause
                return finish(runtime, job, None, JobStatus.FAILED, {"error": request}, [], 0.0)
            partners = _partners_or_none(runtime, model_id, job)
            if partners:
                return run_batch(runtime, [job, *partners])[0]
            return _execute(runtime, job, request)
        finally:
            runtime.heartbeat.idle(runtime.engine.held_adapters())
            metrics.gpu_busy(model_id, time.perf_counter() - busy_since)


def _read_input(job: Job) -> GenerationInput | str:
    """The job's input, or why this worker cannot read it (a field a newer API added)."""
    try:
        return GenerationInput.model_validate(job.input)
    except ValidationError as error:
        log.error("cannot read the job's input: %s", error)
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in ("input", *first["loc"]))
        return (
            f"this worker cannot read the job's input ({where}: {first['msg']}); it may be "
            "older than the API: upgrade the workers"
        )


def _partners_or_none(runtime: WorkerRuntime, model_id: str, job: Job) -> list[Job]:
    """The job's batch partners; when claiming them fails, none: the claimed job runs alone
    rather than waiting, `running`, for recovery (Redis being gone is left to the broker watch)."""
    try:
        return claim_partners(runtime, model_id, job)
    except (redis.ConnectionError, redis.TimeoutError):
        raise
    except Exception:
        log.exception("could not claim batch partners: running the job alone")
        return []


def _execute(runtime: WorkerRuntime, job: Job, request: GenerationInput) -> JobStatus | None:
    assert job.started_at is not None and request.seed is not None
    log.info("started attempt %d on %s", job.attempt, runtime.worker_id)
    keys: list[str] = []
    fields: dict[str, Any] = {}
    before: list[Op[Any]] = []  # the output event, written in the terminal write's round trip
    reporter = ProgressReporter(runtime, job, request)
    started = time.perf_counter()
    try:
        init_image = load_init_image(runtime.storage, request)
        mask = load_mask(runtime.storage, request)
        images = runtime.engine.generate(request, reporter, init_image, mask)
        predict_time = time.perf_counter() - started
        store_outputs(runtime, job, request, images, keys)
        before.append(reporter.output(keys))
        status, fields = JobStatus.SUCCEEDED, {"output": keys}
    except GenerationCanceled:
        predict_time = time.perf_counter() - started
        status, fields = JobStatus.CANCELED, reporter.canceled_fields()
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
    return finish(runtime, job, request, status, fields, keys, predict_time, before)
