"""Claiming a batch: the queued jobs that may share the first job's pipeline call, per policy."""

from __future__ import annotations

import logging
import time

from sdq import metrics
from sdq.batching import batch_defaults, batch_key, batchable, image_count
from sdq.job import Job, JobStatus
from sdq.store.jobs import claim_compatible
from worker.runtime import WorkerRuntime

log = logging.getLogger(__name__)


def claim_partners(runtime: WorkerRuntime, model_id: str, first: Job) -> list[Job]:
    """Queued jobs compatible with `first` (`sdq.batching`), started for this worker in the
    scheduler's order, so that the call draws at most `max_batch_size` images; with room left and
    `batch_wait_ms` set, wait that long once for more. None when the policy does not batch or
    `first` runs alone."""
    policy = runtime.batching.get(runtime.store, model_id)
    room = policy.max_batch_size - image_count(first.input)
    if room <= 0 or not batchable(first.input):
        return []
    partners = _claim(runtime, model_id, first, room)
    room -= sum(image_count(job.input) for job in partners)
    if room > 0 and policy.batch_wait_s > 0:
        time.sleep(policy.batch_wait_s)
        partners += _claim(runtime, model_id, first, room)
    if partners:
        log.info(
            "batched with %d more job(s): %s", len(partners), ", ".join(j.id for j in partners)
        )
    return partners


def _claim(runtime: WorkerRuntime, model_id: str, first: Job, images: int) -> list[Job]:
    found: list[Job] = []

    def claim() -> list[str]:
        claimed = runtime.store.run(
            claim_compatible(
                model_id,
                batch_key(first.input),
                batch_defaults(),
                images,
                worker_id=runtime.worker_id,
                retention_s=runtime.settings.job_retention_s,
                now=time.time(),
            )
        )
        if claimed.aborted:
            log.info("aborted %d queued job(s) whose deadline had passed", claimed.aborted)
            metrics.job_finished(model_id, JobStatus.ABORTED, claimed.aborted)
        found.extend(claimed.jobs)
        return [job.id for job in claimed.jobs]

    # No heartbeat newer than their start may leave them out (recovery would requeue them).
    runtime.heartbeat.busy_with_more(claim)
    return found
