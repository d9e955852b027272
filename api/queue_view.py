"""A queued job's place for the people waiting on it: its position and an ETA, from the
scheduling structures and the model's measured timings."""

from __future__ import annotations

import time

from api.runtime import ApiRuntime
from sdq.admission import eta_s
from sdq.job import Job, JobStatus
from sdq.prediction import QueueInfo
from sdq.store.jobs import QueuePlace, queue_place


async def queue_info(
    runtime: ApiRuntime, job: Job, place: QueuePlace | None = None
) -> QueueInfo | None:
    """The job's queue position and ETA while it is queued; None once it left the queue.
    `place`: where it stood just now (its create's answer), instead of reading it again."""
    if job.status is not JobStatus.QUEUED:
        return None
    if place is not None:
        return await info_at(runtime, job.model, place)
    return await place_info(runtime, job.id, job.model)


async def place_info(runtime: ApiRuntime, job_id: str, model_id: str) -> QueueInfo | None:
    """The queue position and ETA of a job of `model_id`, read now; None if it is not queued."""
    place = await runtime.store.run(queue_place(job_id))
    if place is None:
        return None
    return await info_at(runtime, model_id, place)


async def info_at(runtime: ApiRuntime, model_id: str, place: QueuePlace) -> QueueInfo:
    """The queue position and ETA of a job of `model_id` at `place`."""
    state = await runtime.queue_facts.state(runtime.store, model_id, place.queued)
    return QueueInfo(place.position, time.time() + eta_s(state, place.position))
