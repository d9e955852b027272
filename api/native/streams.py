"""Server-sent events of one prediction: replayed from its Redis Stream, then followed live."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Header
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.auth import Caller
from api.client_ids import is_event_id
from api.deps import BaseUrl, KnowsAborted, Runtime
from api.native.path_ids import PredictionId
from api.native.predictions import job_or_404
from sdq.inputs import InvalidField, InvalidInput
from sdq.job import EventType
from sdq.prediction import prediction
from sdq.store.events import read_events
from sdq.store.jobs import get_job

router = APIRouter(tags=["predictions"])

_BATCH = 100
_BLOCK_MS = 30_000


@router.get(
    "/v1/predictions/{prediction_id}/stream",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_prediction(
    prediction_id: PredictionId,
    runtime: Runtime,
    caller: Caller,
    base_url: BaseUrl,
    knows_aborted: KnowsAborted,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """`text/event-stream` of the job's events: queued, started, progress, preview, output,
    completed (whose data is the final prediction). Resume with `Last-Event-ID`."""
    if last_event_id is not None and not is_event_id(last_event_id):
        raise InvalidInput([InvalidField("Last-Event-ID", "must be an event id from this stream")])
    await job_or_404(runtime, caller, prediction_id)

    async def events() -> AsyncIterator[ServerSentEvent]:
        last = last_event_id or "0-0"
        link: Callable[[str], str] | None = None  # made at the first output: one expiry per stream
        while True:
            read = read_events(prediction_id, last, _BATCH, block_ms=_BLOCK_MS)
            events = await runtime.blocking.run(read)
            if not events and await runtime.store.run(get_job(prediction_id)) is None:
                return  # the job expired while we waited
            for event in events:
                last, data = event.id, event.data
                if event.type is EventType.OUTPUT:
                    link = link or await runtime.output_links(base_url)
                    data["output"] = [link(key) for key in data["output"]]
                if event.type is EventType.COMPLETED:
                    link = link or await runtime.output_links(base_url)
                    job = await runtime.store.run(get_job(prediction_id))
                    data = (
                        prediction(job, base_url, link=link, knows_aborted=knows_aborted)
                        if job
                        else data
                    )
                yield ServerSentEvent(data=json.dumps(data), event=event.type.value, id=event.id)
                if event.type is EventType.COMPLETED:
                    return

    return EventSourceResponse(events(), ping=runtime.settings.sse_ping_s, send_timeout=30)
