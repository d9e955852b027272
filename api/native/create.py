"""The native create call's work, shared by its two routes and their fast lanes
(`api.fast_lane`): the body checked, the job submitted once per Idempotency-Key, `Prefer: wait`
honoured, the prediction presented."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import Request, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from api.auth import authenticate
from api.fast_lane import json_answer, sends_json, sub_response
from api.idempotency import submit_once
from api.idempotency_key import HEADER as IDEMPOTENCY_HEADER
from api.idempotency_key import input_as_sent, request_hash
from api.native.cancel_after import parse_cancel_after
from api.native.create_call import CreateCall, create_call, model_create_call
from api.native.prediction_shapes import Prediction
from api.native.prefer import parse_prefer_wait
from api.native.present import present
from api.submission import submit
from api.waiting import wait_for_terminal
from sdq.api_keys import Principal
from sdq.inputs import InputLimits, InvalidField, InvalidInput, parse_input, unknown_model
from sdq.job import WEBHOOK_EVENTS, Job, WebhookEvent
from sdq.json_types import WholeNumber
from sdq.scheduling import DEFAULT_PRIORITY, LEAST_URGENT, MOST_URGENT
from sdq.settings import ModelSpec, Settings
from sdq.ssrf import UnsafeUrl, check_webhook_url
from sdq.store.jobs import QueuePlace

CANCEL_AFTER_HEADER = "Cancel-After"
PREDICTION = TypeAdapter(Prediction)


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


async def create_from_body(
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
    limits = InputLimits.for_model(spec, settings)
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


async def valid_body(request: Request) -> PredictionRequest | None:
    """The body, when it is JSON that validates; None sends the request down FastAPI's lane,
    which answers the error as it always has."""
    if not sends_json(request):
        return None
    try:
        return PredictionRequest.model_validate(await request.json())
    except (ValueError, ValidationError):  # JSONDecodeError and BodyRefused are ValueErrors
        return None


async def _lane(
    request: Request, call: CreateCall, caller: Principal, spec: ModelSpec, body: PredictionRequest
) -> Response:
    response = sub_response()
    headers = request.headers
    content = await create_from_body(
        call, caller, spec, body, headers.get("prefer"), response, headers.get(CANCEL_AFTER_HEADER)
    )
    return json_answer(PREDICTION, content, 201, response)


async def model_create_lane(request: Request) -> Response | None:
    """`POST /v1/models/{owner}/{name}/predictions` with a valid body; the checks in FastAPI's
    order: the key (the routers' dependency), the model, the Idempotency-Key."""
    body = await valid_body(request)
    if body is None:
        return None
    caller = await authenticate(request, None)
    path = request.path_params
    key = request.headers.get(IDEMPOTENCY_HEADER)
    call = await model_create_call(request, path["owner"], path["name"], key)
    assert call.spec is not None  # the path named it
    return await _lane(request, call, caller, call.spec, body)


async def create_lane(request: Request) -> Response | None:
    """`POST /v1/predictions` with a valid body."""
    body = await valid_body(request)
    if body is None:
        return None
    caller = await authenticate(request, None)
    call = await create_call(request, request.headers.get(IDEMPOTENCY_HEADER))
    return await _lane(request, call, caller, model_named_by(call, body), body)


def model_named_by(call: CreateCall, body: PredictionRequest) -> ModelSpec:
    field = "version" if body.version and not body.model else "model"
    return resolve_model(call.runtime.settings, body.model or body.version, field)
