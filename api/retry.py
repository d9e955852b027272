"""Retrying a failed, aborted or canceled prediction: a new job with the same model, input
(a copy of its stored starting image), webhook and owner, linked to the job it repeats."""

from __future__ import annotations

from anyio import to_thread

from api.errors import Conflict
from api.idempotency import Submitted, submit_once
from api.idempotency_key import request_hash
from api.init_image import InitImage
from api.runtime import ApiRuntime
from api.submission import submit
from sdq.api_keys import Principal
from sdq.inputs import GenerationInput, InputLimits, InvalidInput, parse_input
from sdq.job import Job, JobStatus
from sdq.settings import ModelSpec, Settings
from sdq.storage import OutputNotFound

RETRYABLE = frozenset({JobStatus.FAILED, JobStatus.ABORTED, JobStatus.CANCELED})


def retry_refusal(job: Job, settings: Settings) -> str | None:
    """Why the job cannot be retried (a 409's detail), None when it can."""
    if job.status not in RETRYABLE:
        return (
            f"prediction {job.id} is {job.status.replicate_name}; only failed, aborted or "
            "canceled predictions can be retried"
        )
    if settings.model(job.model) is None:
        return f"prediction {job.id} ran model {job.model}, which is no longer served here"
    return None


async def retry(runtime: ApiRuntime, old: Job, caller: Principal, key: str | None) -> Submitted:
    """Queue `old` again as a new prediction of its owner (`key`: the caller's Idempotency-Key,
    bound to the job retried), at its priority or the caller's most urgent one if lower, within
    the caller's queue quota."""
    settings = runtime.settings
    refusal = retry_refusal(old, settings)
    spec = settings.model(old.model)
    if refusal is not None or spec is None:
        raise Conflict(refusal or f"model {old.model} is not served")
    try:
        request = parse_input(old.input, InputLimits.for_model(spec, settings))
    except InvalidInput as error:
        raise Conflict(f"the input of prediction {old.id} is no longer accepted: {error}") from None
    image = mask = None
    try:
        if request.image is not None:
            data = await to_thread.run_sync(runtime.storage.get, request.image)
            image = InitImage.stored(request.image, data)
        if request.mask is not None:
            data = await to_thread.run_sync(runtime.storage.get, request.mask)
            mask = InitImage.stored(request.mask, data)
    except OutputNotFound:
        raise Conflict(
            f"the starting image of prediction {old.id} is no longer stored; "
            "create a new prediction with the image"
        ) from None
    return await submit_once(
        runtime,
        caller.tenant,
        key,
        request_hash({"retry_of": old.id}),
        lambda job_id: _resubmit(runtime, spec, old, caller, job_id, request, image, mask),
    )


async def _resubmit(
    runtime: ApiRuntime,
    spec: ModelSpec,
    old: Job,
    caller: Principal,
    job_id: str,
    request: GenerationInput,
    image: InitImage | None,
    mask: InitImage | None,
) -> Job:
    return await submit(
        runtime,
        spec,
        request,
        tenant=old.tenant,
        webhook=old.webhook,
        webhook_events=old.webhook_events_filter or None,
        job_id=job_id,
        init_image=image,
        init_mask=mask,
        retry_of=old.id,
        priority=max(old.priority, caller.max_priority),
        key_max_queued=caller.max_queued,
    )
