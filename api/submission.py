"""Submitting and canceling jobs, shared by every API dialect: store the init image, create the
job, enqueue it, and undo both if enqueueing fails; cancel queued or running."""

from __future__ import annotations

import time

from anyio import to_thread

from api.errors import Unavailable
from api.init_image import decode_image, store_init_image
from api.state import ApiState
from sdq.inputs import GenerationInput
from sdq.job import Job, JobStatus, new_job_id
from sdq.settings import ModelSpec
from sdq.store import create_job, delete_job, request_cancel, transition


async def submit(
    state: ApiState,
    spec: ModelSpec,
    request: GenerationInput,
    *,
    image_field: str = "input.image",
    webhook: str | None = None,
    webhook_events: list[str] | None = None,
) -> Job:
    """Create and enqueue the job; `request.image` (data URL or base64) is checked and stored,
    and the job keeps its storage key instead. A failure leaves nothing behind."""
    settings = state.settings
    job_id = new_job_id()
    stored: str | None = None
    if request.image is not None:
        png = decode_image(request.image, image_field, settings.max_init_image_pixels)
        stored = await to_thread.run_sync(store_init_image, state.storage, job_id, png)
        request = request.model_copy(update={"image": stored})
    job = Job(
        id=job_id,
        model=spec.id,
        input=request.model_dump(),
        created_at=time.time(),
        webhook=webhook,
        webhook_events_filter=webhook_events or [],
    )
    try:
        if not await state.store.run(create_job(job, settings.job_retention_s)):
            raise Unavailable("job id collision; retry the request")
        try:
            await state.enqueue(job.id, spec.id)
        except Exception as error:
            await state.store.run(delete_job(job.id, spec.id))
            raise Unavailable(f"could not enqueue the job: {type(error).__name__}") from error
    except BaseException:
        if stored is not None:
            await to_thread.run_sync(state.storage.delete, stored)
        raise
    return job


async def cancel(state: ApiState, job_id: str) -> JobStatus | None:
    """Queued: canceled at once and never started. Running: stopped at the next denoising step.
    Returns the status the job had, None if there is no such job."""
    status = await state.store.run(request_cancel(job_id))
    if status is JobStatus.QUEUED:
        await state.store.run(
            transition(
                "cancel_queued",
                job_id,
                retention_s=state.settings.job_retention_s,
                event="completed",
                fields={"completed_at": time.time()},
                webhook_event="completed",
                now=time.time(),
            )
        )
        # If a worker claimed it in between, the claim won: ask the running job to stop instead.
        await state.store.run(request_cancel(job_id))
    return status
