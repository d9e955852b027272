"""Server-sent events of one prediction: replayed from its Redis Stream, then followed live."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Annotated, cast

from fastapi import APIRouter, Header
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import BaseUrl, State
from api.errors import NotFound
from sdq import keys
from sdq.events import EventType
from sdq.inputs import InvalidField, InvalidInput
from sdq.prediction import prediction
from sdq.storage import output_links
from sdq.store import get_job

router = APIRouter(tags=["predictions"])

_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
_BATCH = 100
_BLOCK_MS = 30_000

Entries = list[tuple[str, list[tuple[str, dict[str, str]]]]]


@router.get(
    "/v1/predictions/{prediction_id}/stream",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_prediction(
    prediction_id: str,
    state: State,
    base_url: BaseUrl,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """`text/event-stream` of the job's events: queued, started, progress, preview, output,
    completed (whose data is the final prediction). Resume with `Last-Event-ID`."""
    if last_event_id is not None and not _STREAM_ID.match(last_event_id):
        raise InvalidInput([InvalidField("Last-Event-ID", "must be an event id from this stream")])
    if await state.store.run(get_job(prediction_id)) is None:
        raise NotFound(f"prediction {prediction_id} not found")

    link = output_links(state.storage, base_url)

    async def events() -> AsyncIterator[ServerSentEvent]:
        stream = keys.job_events(prediction_id)
        last = last_event_id or "0-0"
        while True:
            reply = cast(
                Entries,
                await state.blocking_redis.xread({stream: last}, count=_BATCH, block=_BLOCK_MS),
            )
            if not reply and await state.store.run(get_job(prediction_id)) is None:
                return  # the job expired while we waited
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    last = entry_id
                    kind = fields.get("type", "")
                    data = json.loads(fields.get("data", "{}"))
                    if kind == EventType.OUTPUT:
                        data["output"] = [link(key) for key in data["output"]]
                    if kind == EventType.COMPLETED:
                        job = await state.store.run(get_job(prediction_id))
                        data = prediction(job, base_url, link=link) if job else data
                    yield ServerSentEvent(data=json.dumps(data), event=kind, id=entry_id)
                    if kind == EventType.COMPLETED:
                        return

    return EventSourceResponse(events(), ping=state.settings.sse_ping_s, send_timeout=30)
