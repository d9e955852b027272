"""The native predictions API, shaped like Replicate's: create, get, list, cancel, Prefer: wait."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import urlencode

from anyio import to_thread
from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Caller
from api.client_ids import is_page_cursor
from api.deps import BaseUrl, KnowsAborted, Runtime
from api.errors import NotFound
from api.idempotency import IdempotencyKey, submit_once
from api.idempotency_key import input_as_sent, request_hash
from api.json_route import StrictJsonRoute
from api.native.cancel_after import parse_cancel_after
from api.native.create_call import CreateCall, CreateCallOf, ModelCreateCall
from api.native.path_ids import PredictionId
from api.native.prediction_shapes import Prediction, PredictionPage, WebhookDeliveries
from api.native.prefer import parse_prefer_wait
from api.queue_view import queue_info
from api.retry import retry
from api.runtime import ApiRuntime
from api.status_filter import STATUS_NAMES, parse_status
from api.submission import cancel, submit
from api.waiting import wait_for_terminal
from sdq.api_keys import NAME_PATTERN, Principal
from sdq.inputs import InputLimits, InvalidField, InvalidInput, parse_input, unknown_model
from sdq.job import WEBHOOK_EVENTS, Job, WebhookEvent
from sdq.json_types import WholeNumber
from sdq.prediction import prediction
from sdq.scheduling import DEFAULT_PRIORITY, LEAST_URGENT, MOST_URGENT
from sdq.settings import ModelSpec, Settings
from sdq.ssrf import UnsafeUrl, check_webhook_url
from sdq.store.jobs import QueuePlace, get_job, list_jobs
from sdq.store.webhooks import list_deliveries

router = APIRouter(tags=["predictions"], route_class=StrictJsonRoute)

PAGE_SIZE = 100

CancelAfter = Annotated[
    str | None,
    Header(
        alias="Cancel-After",
        description="Deadline from submission (`30s`, `5m`, `1h30m`, `500ms`): not started by "
        "then, the prediction ends `aborted`; still running, it is stopped (`canceled`)",
    ),
]


class PredictionRequest(BaseModel):
    """The body of a create call; `model` or `version` names the model on `POST /v1/predictions`."""

    model_config = ConfigDict(extra="forbid")

    input: dict[str, Any]
    model: str | None = Field(default=None, description="A served model id, e.g. sdq/tiny")
    version: str | None = Field(default=None, description="`owner/name[:version]` of the model")
    webhook: str | None = Field(default=None, max_length=2048, description="HTTPS URL to call back")
    webhook_events_filter: list[WebhookEvent] | None = Field(
        default=None, description="Which events call the webhook (default: all)"
    )
    priority: WholeNumber = Field(
        default=DEFAULT_PRIORITY,
        ge=MOST_URGENT,
        le=LEAST_URGENT,
        description="0 (most urgent) to 2: a free worker takes more urgent jobs first; each key "
        "has a most urgent priority it may use",
    )


def checked_priority(body: PredictionRequest, caller: Principal) -> int:
    """The body's priority, if the caller's key may use it (422 naming `priority` otherwise)."""
    if body.priority < caller.max_priority:
        raise InvalidInput(
            [
                InvalidField(
                    "priority",
                    f"this key may use priority {caller.max_priority} (its most urgent) to "
                    f"{LEAST_URGENT}, not {body.priority}",
                )
            ]
        )
    return body.priority


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


def resolve_model(settings: Settings, name: str | None, field: str) -> ModelSpec:
    served = ", ".join(m.id for m in settings.models)
    if not name:
        raise InvalidInput([InvalidField(field, f"name a model; served models: {served}")])
    spec = settings.model(name.split(":", 1)[0])
    if spec is None:
        raise unknown_model(settings, field, name)
    return spec


async def _checked_webhook(body: PredictionRequest, allow_private: bool) -> str | None:
    if body.webhook is None:
        if body.webhook_events_filter is not None:
            raise InvalidInput([InvalidField("webhook_events_filter", "needs a webhook")])
        return None
    try:  # resolving the name may block: off the event loop
        await to_thread.run_sync(check_webhook_url, body.webhook, allow_private)
    except UnsafeUrl as refused:
        raise InvalidInput([InvalidField("webhook", str(refused))]) from None
    return body.webhook


async def _create(
    call: CreateCall,
    caller: Principal,
    spec: ModelSpec,
    body: PredictionRequest,
    prefer: str | None,
    response: Response,
    cancel_after: str | None,
) -> dict[str, Any]:
    runtime, base_url, key = call.runtime, call.base_url, call.key
    knows_aborted = call.knows_aborted
    settings = runtime.settings
    wait_s = parse_prefer_wait(prefer, settings.max_wait_s)
    deadline_s = parse_cancel_after(cancel_after)
    priority = checked_priority(body, caller)
    limits = InputLimits.for_model(spec, settings.max_prompt_chars)
    request = parse_input(body.input, limits)
    webhook = await _checked_webhook(body, settings.webhook_allow_private)
    events = (
        body.webhook_events_filter if body.webhook_events_filter is not None else WEBHOOK_EVENTS
    )
    webhook_events = list(dict.fromkeys(events)) if webhook else None
    # The request's hash matters only to a call with an Idempotency-Key.
    wanted = (
        ""
        if key is None
        else request_hash(
            {
                "model": spec.id,
                "input": input_as_sent(request, body.input),
                "webhook": webhook,
                "webhook_events_filter": webhook_events,
                "cancel_after_s": deadline_s,
                # Only when asked for: repeats of requests hashed before priorities keep matching.
                **({"priority": priority} if priority != DEFAULT_PRIORITY else {}),
            }
        )
    )

    places: list[QueuePlace] = []  # the new job's, from its create

    async def create(job_id: str) -> Job:
        return await submit(
            runtime,
            spec,
            request,
            tenant=caller.tenant,
            webhook=webhook,
            webhook_events=webhook_events,
            job_id=job_id,
            deadline_s=deadline_s,
            key_max_queued=caller.max_queued,
            priority=priority,
            placed=places.append,
        )

    submitted = await submit_once(runtime, caller.tenant, key, wanted, create)
    submitted.mark(response)
    job = submitted.job
    if wait_s is not None:
        # Past the caps on open waits, the answer comes at once (the client polls on).
        slot = runtime.waits.try_take(caller.tenant)
        if slot is not None:
            try:
                # A server shutting down answers at the end of its grace: as an expired wait.
                over = runtime.drain.over
                job = (
                    await wait_for_terminal(runtime.store, runtime.blocking, job.id, wait_s, over)
                    or job
                )
            finally:
                slot.release()
        expired = not job.status.is_terminal
        return await present(runtime, job, base_url, expired, knows_aborted)
    place = places[0] if places else None
    return await present(runtime, job, base_url, knows_aborted=knows_aborted, place=place)


@router.post("/v1/models/{owner}/{name}/predictions", status_code=201, response_model=Prediction)
async def create_model_prediction(
    call: ModelCreateCall,
    body: PredictionRequest,
    caller: Caller,
    response: Response,
    prefer: Annotated[str | None, Header()] = None,
    cancel_after: CancelAfter = None,
) -> dict[str, Any]:
    """A repeat with the same `Idempotency-Key` answers 201 with the first prediction and
    `Idempotent-Replayed: true`."""
    assert call.spec is not None  # the path named it
    return await _create(call, caller, call.spec, body, prefer, response, cancel_after)


@router.post("/v1/predictions", status_code=201, response_model=Prediction)
async def create_prediction(
    call: CreateCallOf,
    body: PredictionRequest,
    caller: Caller,
    response: Response,
    prefer: Annotated[str | None, Header()] = None,
    cancel_after: CancelAfter = None,
) -> dict[str, Any]:
    """A repeat with the same `Idempotency-Key` answers 201 with the first prediction and
    `Idempotent-Replayed: true`."""
    field = "version" if body.version and not body.model else "model"
    spec = resolve_model(call.runtime.settings, body.model or body.version, field)
    return await _create(call, caller, spec, body, prefer, response, cancel_after)


async def job_or_404(runtime: ApiRuntime, caller: Principal, prediction_id: str) -> Job:
    """The job, or 404 when there is none or it is another tenant's (the same answer)."""
    job = await runtime.store.run(get_job(prediction_id))
    if job is None or not caller.may_see(job.tenant):
        raise NotFound(f"prediction {prediction_id} not found")
    return job


@router.get("/v1/predictions/{prediction_id}", response_model=Prediction)
async def get_prediction(
    prediction_id: PredictionId,
    runtime: Runtime,
    caller: Caller,
    base_url: BaseUrl,
    knows_aborted: KnowsAborted,
) -> dict[str, Any]:
    job = await job_or_404(runtime, caller, prediction_id)
    return await present(runtime, job, base_url, knows_aborted=knows_aborted)


@router.get("/v1/predictions", response_model=PredictionPage)
async def list_predictions(
    runtime: Runtime,
    caller: Caller,
    base_url: BaseUrl,
    knows_aborted: KnowsAborted,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_SIZE)] = PAGE_SIZE,
    tenant: Annotated[
        str | None,
        Query(pattern=NAME_PATTERN, description="Admins: only this tenant's (a key name)"),
    ] = None,
    status: Annotated[
        str | None,
        Query(
            max_length=32,
            description="Only predictions in this status: " + ", ".join(STATUS_NAMES),
        ),
    ] = None,
    model: Annotated[
        str | None, Query(max_length=200, description="Only predictions of this model")
    ] = None,
) -> dict[str, Any]:
    """The caller's predictions, newest first; an admin's list has every tenant's. With
    `status` or `model`, a page may hold fewer than `limit` and still have a `next` page."""
    if cursor is not None and not is_page_cursor(cursor):
        message = "is not a cursor from a page's `next` link"
        raise InvalidInput([InvalidField("cursor", message)])
    if tenant is not None and not caller.is_admin:
        raise InvalidInput([InvalidField("tenant", "only admin keys may filter by tenant")])
    only = tenant if caller.is_admin else caller.tenant
    wanted = parse_status(status)
    if model is not None and runtime.settings.model(model) is None:
        served = ", ".join(spec.id for spec in runtime.settings.models)
        raise InvalidInput([InvalidField("model", f"{model!r} is not served here ({served})")])
    page = await runtime.store.run(list_jobs(cursor, limit, only, wanted, model))
    next_url = None
    if page.next_cursor:
        query = urlencode(
            {"cursor": page.next_cursor, "limit": limit}
            | ({"tenant": tenant} if tenant else {})
            | ({"status": status} if status else {})
            | ({"model": model} if model else {})
        )
        next_url = f"{base_url}/v1/predictions?{query}"
    link = await runtime.output_links(base_url)
    queues = await asyncio.gather(*(queue_info(runtime, job) for job in page.jobs))
    return {
        "previous": None,
        "next": next_url,
        "results": [
            prediction(job, base_url, link=link, knows_aborted=knows_aborted, queue=queue)
            for job, queue in zip(page.jobs, queues, strict=True)
        ],
    }


@router.post("/v1/predictions/{prediction_id}/cancel", response_model=Prediction)
async def cancel_prediction(
    prediction_id: PredictionId,
    runtime: Runtime,
    caller: Caller,
    base_url: BaseUrl,
    response: Response,
    knows_aborted: KnowsAborted,
) -> dict[str, Any]:
    """Queued: canceled at once and never started. Running: stopped at the next denoising step."""
    await job_or_404(runtime, caller, prediction_id)
    if await cancel(runtime, prediction_id) is None:
        raise NotFound(f"prediction {prediction_id} not found")
    job = await job_or_404(runtime, caller, prediction_id)
    response.status_code = 200
    return await present(runtime, job, base_url, knows_aborted=knows_aborted)


@router.get("/v1/predictions/{prediction_id}/webhooks")
async def prediction_webhooks(
    prediction_id: PredictionId, runtime: Runtime, caller: Caller
) -> WebhookDeliveries:
    """Every webhook delivery of the prediction, each attempt: time, status or error, duration."""
    await job_or_404(runtime, caller, prediction_id)
    deliveries = await runtime.store.run(list_deliveries(prediction_id))
    return WebhookDeliveries(results=deliveries)


@router.post("/v1/predictions/{prediction_id}/retry", status_code=201, response_model=Prediction)
async def retry_prediction(
    prediction_id: PredictionId,
    runtime: Runtime,
    caller: Caller,
    base_url: BaseUrl,
    response: Response,
    key: IdempotencyKey,
) -> dict[str, Any]:
    """Queue a failed, aborted or canceled prediction again: a new prediction with the same
    model, input, webhook and owner, which records the one it repeats (409 for any other
    status, or when its starting image is no longer stored)."""
    old = await job_or_404(runtime, caller, prediction_id)
    submitted = await retry(runtime, old, caller, key)
    submitted.mark(response)
    return await present(runtime, submitted.job, base_url)
