"""Submitting and canceling jobs, shared by every API dialect: store the init image, then create
the job with its Celery token in one step (and undo the image if that fails); cancel queued or
running."""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import time
from collections.abc import Callable

from anyio import to_thread
from fastapi import Request

from api.admission_check import too_many_requests
from api.draining import RETRY_AFTER_S as DRAIN_RETRY_AFTER_S
from api.errors import RETRY_AFTER_S, GatewayTimeout, InsufficientStorage, Unavailable
from api.init_image import InitImage, StartingImages, store_starting_images
from api.runtime import ApiRuntime
from api.waiting import wait_for_caller
from sdq import metrics
from sdq.inputs import GenerationInput
from sdq.job import Job, JobStatus, Transition, WebhookEvent, new_job_id
from sdq.scheduling import DEFAULT_PRIORITY
from sdq.settings import ModelSpec
from sdq.storage import StorageFull
from sdq.store.job_files import note_files
from sdq.store.jobs import (
    Admission,
    Created,
    QueuePlace,
    create_job,
    delete_job,
    queue_token,
    request_cancel,
    transition,
)
from sdq.store.model_health import LoadRetry, get_health
from sdq.store.ops import Replicated
from sdq.store.scaling import get_policy
from sdq.task_message import generate_token

log = logging.getLogger(__name__)


async def submit(
    runtime: ApiRuntime,
    spec: ModelSpec,
    request: GenerationInput,
    *,
    tenant: str,
    image_field: str = "input.image",
    mask_field: str = "input.mask",
    any_mask: bool = False,
    webhook: str | None = None,
    webhook_events: list[WebhookEvent] | None = None,
    job_id: str | None = None,
    init_image: InitImage | None = None,
    init_mask: InitImage | None = None,
    retry_of: str | None = None,
    deadline_s: float | None = None,
    key_max_queued: int | None = None,
    priority: int = DEFAULT_PRIORITY,
    dialect: str = "native",
    placed: Callable[[QueuePlace], None] | None = None,
) -> Job:
    """Create and enqueue the job; `request.image` and `request.mask` (data URLs or base64) are
    checked and stored, as sent, and the job keeps their storage keys instead (`init_image`,
    `init_mask`: ones checked before, such as a retried job's). A mask must have the image's
    size unless `any_mask` (AUTOMATIC1111 resizes it, as the worker does). A failure leaves
    nothing behind; the files go when the job record does.

    `deadline_s` (Cancel-After) overrides the model's default deadline; a submit past the model's
    `max_queued` or the key's `key_max_queued` is refused with 429 and leaves nothing written
    (checked where the job is created: racing submits cannot both take the last place).
    `placed` hears where the new job stands in its model's queue. The policy and the model's
    load health are read at most `api.recent_reads.RECENT_S` ago."""
    settings = runtime.settings
    await refuse_if_unloadable(runtime, spec)
    policy = await runtime.recent.run(runtime.store, get_policy(spec.id, spec.scaling))
    if deadline_s is None:
        deadline_s = policy.default_deadline_s
    job_id = job_id or new_job_id()
    stored: list[str] = []
    if request.image is not None:
        sent = StartingImages(image_field, mask_field, settings.max_init_image_pixels, any_mask)
        # Decoding a large image to check it takes a while: off the loop.
        image, mask = await to_thread.run_sync(sent.checked, request, init_image, init_mask)
        await runtime.store.run(note_files(job_id, time.time()))  # before the file: never lost
        try:
            keys = await to_thread.run_sync(
                store_starting_images, runtime.storage, job_id, image, mask
            )
        except StorageFull as full:  # the disk or the bucket's quota: nothing is queued
            raise InsufficientStorage(f"the starting image could not be stored: {full}") from None
        stored = list(keys.values())
        request = request.model_copy(update=keys)
    created_at = time.time()
    job = Job(
        id=job_id,
        model=spec.id,
        input=request.stored(),
        created_at=created_at,
        webhook=webhook,
        webhook_events_filter=webhook_events or [],
        tenant=tenant,
        deadline_at=None if deadline_s is None else created_at + deadline_s,
        retry_of=retry_of,
        priority=priority,
    )
    try:
        try:
            replicated = await create_replicated(runtime, job, policy.max_queued, key_max_queued)
        except BaseException:
            if not await forget_if_written(runtime, job):
                stored = []  # the job may be there, with its images: the file sweep decides
            raise
        created = replicated.value
        if created.outcome is Admission.ID_TAKEN:
            raise Unavailable("job id collision; retry the request")
        if not created.created:
            model_full = created.outcome is Admission.MODEL_FULL
            metrics.job_refused(spec.id, "max_queued" if model_full else "key_max_queued")
            raise await too_many_requests(
                runtime, spec.id, created, policy.max_queued, key_max_queued
            )
        if settings.redis_replica_acks > 0:
            try:
                if replicated.replicas < settings.redis_replica_acks:
                    await withdraw_unreplicated(runtime, job, replicated.replicas)
                await asyncio.shield(queue_token_after_replication(runtime, job))
            except Unavailable:
                raise  # withdrawn: nothing of the job is left
            except BaseException:  # cancelled or Redis gone mid-way: the job may stand
                if not await forget_if_written(runtime, job):
                    stored = []  # it stands (or may): its starting images stay with it
                raise
    except BaseException:
        for key in stored:
            await to_thread.run_sync(runtime.storage.delete, key)
        raise
    metrics.job_submitted(spec.id, dialect)
    if placed is not None and created.place is not None:
        placed(created.place)
    return job


async def create_replicated(
    runtime: ApiRuntime, job: Job, max_queued: int | None, key_max_queued: int | None
) -> Replicated[Created]:
    """Create the job and queue its token in one step; with `SDQ_REDIS_REPLICA_ACKS`, create it
    without the token and wait for that many replicas to hold it (at most
    `REPLICATED_WRITES_MOST` such waits at once, so that they never take the whole connection
    pool that reads and `/readyz` share): no worker can start a job that may yet be withdrawn."""
    settings = runtime.settings
    acks, timeout_ms = settings.redis_replica_acks, settings.redis_replica_ack_timeout_ms
    op = create_job(
        job,
        settings.job_retention_s,
        max_queued=max_queued,
        tenant_max_queued=key_max_queued,
        token=generate_token(job.id, job.model) if acks <= 0 else None,
    )
    if acks <= 0:
        return Replicated(await runtime.store.run(op), 0)
    async with runtime.replicated_writes:
        return await runtime.store.run_replicated(op, acks, timeout_ms)


async def queue_token_after_replication(runtime: ApiRuntime, job: Job) -> None:
    """The token of a job that replicas confirmed (`SDQ_REDIS_REPLICA_ACKS`); when it cannot be
    sent, the job is removed again and the caller told to retry (503), unless a worker with a
    spare token (a canceled job's) started it meanwhile: then it runs."""
    try:
        await runtime.store.run(queue_token(job.model, generate_token(job.id, job.model)))
    except Exception as error:
        if await runtime.store.run(delete_job(job)):
            raise Unavailable(f"could not enqueue the job: {type(error).__name__}") from error
        log.warning("could not send a token for %s, but it started: %s", job.id, error)


async def forget_if_written(runtime: ApiRuntime, job: Job) -> bool:
    """The create's answer was lost (the connection dropped, the call was cancelled): remove the
    job in case it was written, so that a refused call leaves no job to run. True when it is
    surely gone; False when that is unknown (Redis unreachable) or a worker already took it."""
    try:
        return await asyncio.shield(runtime.store.run(delete_job(job)))
    except BaseException:
        return False


async def withdraw_unreplicated(runtime: ApiRuntime, job: Job, acknowledged: int) -> None:
    """Fewer Redis replicas than `SDQ_REDIS_REPLICA_ACKS` confirmed the new job in time: a
    failover now could lose it, so it is withdrawn and the caller told to retry (503)."""
    settings = runtime.settings
    if not await runtime.store.run(delete_job(job)):
        # A worker with a spare token (a canceled job's) started it in that moment: it runs and
        # is acknowledged, its start written by the worker (not waited for).
        return
    metrics.job_refused(job.model, "replication")
    raise Unavailable(
        f"the job was not confirmed by {settings.redis_replica_acks} Redis replica(s) within "
        f"{settings.redis_replica_ack_timeout_ms} ms ({acknowledged} did); nothing was queued"
    )


async def refuse_if_unloadable(runtime: ApiRuntime, spec: ModelSpec) -> None:
    """503 naming the cause while the model has failed to load too many times in a row, with a
    Retry-After of the time left before its next load is tried."""
    health = await runtime.recent.run(runtime.store, get_health(spec.id))
    retry = LoadRetry.from_settings(runtime.settings)
    if not health.refuses_jobs(retry):
        return
    metrics.job_refused(spec.id, "unavailable")
    next_at = health.next_load_at(retry) or 0.0
    wait = max(RETRY_AFTER_S, math.ceil(next_at - time.time()))
    raise Unavailable(
        f"model {spec.id} is unavailable: it failed to load {health.attempts} times in a row "
        f"({health.error}); the next load is tried within {wait} s",
        retry_after_s=wait,
    )


async def cancel(runtime: ApiRuntime, job_id: str) -> JobStatus | None:
    """Queued: canceled at once and never started. Running: stopped at the next denoising step.
    Returns the status the job had, None if there is no such job."""
    status = await runtime.store.run(request_cancel(job_id))
    if status is JobStatus.QUEUED:
        canceled = await runtime.store.run(
            transition(
                Transition.CANCEL_QUEUED,
                job_id,
                retention_s=runtime.settings.job_retention_s,
                fields={"completed_at": time.time()},
                now=time.time(),
            )
        )
        if canceled is not None:
            metrics.job_finished(canceled.model, JobStatus.CANCELED)
        # If a worker claimed it in between, the claim won: ask the running job to stop instead.
        await runtime.store.run(request_cancel(job_id))
    return status


async def images_base64(runtime: ApiRuntime, job: Job) -> list[str]:
    """The job's output files, base64-encoded (for the dialects that inline images)."""
    blobs = [await to_thread.run_sync(runtime.storage.get, key) for key in job.output or []]
    return [base64.b64encode(blob).decode() for blob in blobs]


async def wait_for_images(
    runtime: ApiRuntime, request: Request, job: Job, may_cancel: bool = True
) -> Job:
    """Hold a synchronous call (A1111, OpenAI) until its job is done. A caller that hangs up
    first cancels the job (SDQ_CANCEL_ON_DISCONNECT, unless not `may_cancel`: a call with an
    Idempotency-Key, whose repeat gets the result), so no GPU draws for nobody; one that
    waits longer than SDQ_SYNC_WAIT_S gets 504 naming the prediction, which keeps running; one
    still waiting when a shutting-down server's grace is over gets 503 naming it."""
    settings = runtime.settings
    done = await wait_for_caller(
        runtime.store,
        runtime.blocking,
        job.id,
        settings.sync_wait_s,
        request.is_disconnected,
        until=runtime.drain.over,
    )
    if done is None and await request.is_disconnected():
        if settings.cancel_on_disconnect and may_cancel:
            log.info("caller of %s hung up: canceling it", job.id)
            await cancel(runtime, job.id)
        raise GatewayTimeout(f"the caller of prediction {job.id} hung up")
    if (done is None or not done.status.is_terminal) and runtime.drain.over.is_set():
        raise Unavailable(
            f"this server is shutting down; prediction {job.id} keeps running: "
            f"GET /v1/predictions/{job.id} has it (a repeat with the same Idempotency-Key too)",
            retry_after_s=DRAIN_RETRY_AFTER_S,
        )
    if done is None or not done.status.is_terminal:
        raise GatewayTimeout(
            f"prediction {job.id} is not finished after {settings.sync_wait_s:.0f} s; "
            f"GET /v1/predictions/{job.id} has it"
        )
    return done
