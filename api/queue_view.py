"""A queued job's place for the people waiting on it: its position and an ETA, from the
scheduling structures and the model's measured timings."""

from __future__ import annotations

import time

from api.runtime import ApiRuntime
from sdq.admission import eta_s
from sdq.job import Job, JobStatus
from sdq.prediction import QueueInfo
from sdq.store.jobs import queue_place


async def queue_info(runtime: ApiRuntime, job: Job) -> QueueInfo | None:
    """The job's queue position and ETA while it is queued; None once it left the queue."""
    if job.status is not JobStatus.QUEUED:
        return None
    return await place_info(runtime, job.id, job.model)


async def place_info(runtime: ApiRuntime, job_id: str, model_id: str) -> QueueInfo | None:
    """The queue position and ETA of a job of `model_id`, read now; None if it is not queued."""
    place = await runtime.store.run(queue_place(job_id))
    if place is None:
        return None
    state = await runtime.queue_facts.state(runtime.store, model_id, place.queued)
    return QueueInfo(place.position, time.time() + eta_s(state, place.position))
