"""The prediction object a native route answers with: output links handed out now, and a queued
job's place in the queue."""

from __future__ import annotations

from typing import Any

from api.queue_view import queue_info
from api.runtime import ApiRuntime
from sdq.job import Job
from sdq.prediction import prediction
from sdq.store.jobs import QueuePlace


async def present(
    runtime: ApiRuntime,
    job: Job,
    base_url: str,
    wait_expired: bool = False,
    knows_aborted: bool = True,
    place: QueuePlace | None = None,
) -> dict[str, Any]:
    """The prediction object, with output links handed out now (signed, expiring; presigned
    on S3), and a queued job's queue position and ETA (at `place`, when known)."""
    link = await runtime.output_links(base_url)
    queue = await queue_info(runtime, job, place)
    return prediction(
        job,
        base_url,
        wait_expired=wait_expired,
        link=link,
        knows_aborted=knows_aborted,
        queue=queue,
    )
