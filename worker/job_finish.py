"""Ending one attempt: store its images, write its terminal state (fenced by attempt), tidy its
files, count it."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from PIL.Image import Image

from sdq import metrics
from sdq.inputs import GenerationInput
from sdq.job import Job, JobMetrics, JobStatus, Transition
from sdq.storage import output_key
from sdq.store.jobs import transition
from sdq.store.ops import Op
from worker.png import encode_png
from worker.runtime import WorkerRuntime

log = logging.getLogger(__name__)


def store_outputs(
    runtime: WorkerRuntime, job: Job, request: GenerationInput, images: list[Image], keys: list[str]
) -> None:
    """Encode and save the attempt's images, appending each stored key to `keys` (so a failure
    part way leaves the ones to remove there). The job's claim noted it in the index of jobs
    with files (`sdq.store.jobs.claim_next`), so none of these is ever orphaned."""
    assert request.seed is not None
    for index, image in enumerate(images):
        key = output_key(job.id, f"out-{job.attempt}-{index}.png")
        data = encode_png(image, request, job.model, request.seed + index)
        runtime.storage.put(key, data, "image/png")
        keys.append(key)


def finish(
    runtime: WorkerRuntime,
    job: Job,
    request: GenerationInput | None,
    status: JobStatus,
    fields: dict[str, Any],
    keys: list[str],
    predict_time: float,
    before: Sequence[Op[Any]] = (),
) -> JobStatus | None:
    """Write the attempt's outcome (`keys`: its stored outputs when it succeeded) and return the
    status written, or None when the attempt was superseded (its outputs are removed again).
    `request` is None only for a job whose input could not be read (it fails).
    `before` (the `output` event) runs just ahead of the terminal write, in its round trip."""
    assert job.started_at is not None
    if status is not JobStatus.SUCCEEDED:
        discard(runtime, keys)  # the images stored before the failure belong to no output
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
        before,
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
        discard(runtime, keys)
        return None
    if status is JobStatus.SUCCEEDED and request is not None:
        inputs = {key for key in (request.image, request.mask) if key}  # the job's own inputs
        remove_strays(runtime, job.id, keep={*keys, *inputs})
    log.info("%s in %.3f s (queue wait %.3f s)", status.value, predict_time, timings.queue_wait)
    metrics.job_finished(job.model, status)
    queue_wait, end_to_end = job.started_at - job.created_at, completed_at - job.created_at
    metrics.job_timings(job.model, queue_wait, predict_time, end_to_end)
    return status


def remove_strays(runtime: WorkerRuntime, job_id: str, keep: set[str]) -> None:
    """Remove the files an earlier attempt wrote before its worker was lost (this attempt's
    outputs and the starting image and mask stay). Best effort: what stays goes when the record
    expires."""
    try:
        strays = [key for key in runtime.storage.job_keys(job_id) if key not in keep]
        for key in strays:
            runtime.storage.delete(key)
    except Exception:
        log.warning("could not remove the files of earlier attempts", exc_info=True)
        return
    if strays:
        log.info("removed %d files of earlier attempts", len(strays))


def discard(runtime: WorkerRuntime, keys: list[str]) -> None:
    """Remove outputs no job record points to; a failing removal costs only the space."""
    for key in keys:
        try:
            runtime.storage.delete(key)
        except Exception as error:
            log.warning("could not remove the unused output %s: %s", key, error)
