"""The native predictions API, shaped like Replicate's: create, get, list, cancel, Prefer: wait."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Query, Response

from api.auth import Caller
from api.client_ids import is_page_cursor
from api.deps import BaseUrl, KnowsAborted, Runtime
from api.errors import NotFound
from api.fast_lane import with_fast_lane
from api.idempotency import IdempotencyKey
from api.json_route import StrictJsonRoute
from api.native.create import (
    CANCEL_AFTER_HEADER,
    PredictionRequest,
    create_from_body,
    create_lane,
    model_create_lane,
    model_named_by,
)
from api.native.create_call import CreateCallOf, ModelCreateCall
from api.native.path_ids import PredictionId
from api.native.prediction_shapes import Prediction, PredictionPage, WebhookDeliveries
from api.native.present import present
from api.queue_view import queue_info
from api.retry import retry
from api.runtime import ApiRuntime
from api.status_filter import STATUS_NAMES, parse_status
from api.submission import cancel
from sdq.api_keys import NAME_PATTERN, Principal
from sdq.inputs import InvalidField, InvalidInput
from sdq.job import Job
from sdq.prediction import prediction
from sdq.store.jobs import get_job, list_jobs
from sdq.store.webhooks import list_deliveries

router = APIRouter(tags=["predictions"], route_class=StrictJsonRoute)

PAGE_SIZE = 100

CancelAfter = Annotated[
    str | None,
    Header(
        alias=CANCEL_AFTER_HEADER,
        description="Deadline from submission (`30s`, `5m`, `1h30m`, `500ms`): not started by "
        "then, the prediction ends `aborted`; still running, it is stopped (`canceled`)",
    ),
]


@router.post("/v1/models/{owner}/{name}/predictions", status_code=201, response_model=Prediction)
@with_fast_lane(model_create_lane)
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
    return await create_from_body(call, caller, call.spec, body, prefer, response, cancel_after)


@router.post("/v1/predictions", status_code=201, response_model=Prediction)
@with_fast_lane(create_lane)
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
    spec = model_named_by(call, body)
    return await create_from_body(call, caller, spec, body, prefer, response, cancel_after)


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
