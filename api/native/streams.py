"""Server-sent events of one prediction: replayed from its Redis Stream, then followed live."""

from __future__ import annotations

import json
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask

from api.auth import Caller
from api.client_ids import is_event_id
from api.deps import BaseUrl, KnowsAborted, Runtime
from api.draining import FAREWELL, RECONNECT_MS
from api.native.path_ids import PredictionId
from api.native.predictions import job_or_404
from api.queue_view import place_info
from api.until_set import until_set
from sdq.inputs import InvalidField, InvalidInput
from sdq.job import EventType, JobStatus
from sdq.prediction import QueueInfo, iso_time, prediction
from sdq.store.events import newest_move, read_events, read_events_or_moves
from sdq.store.jobs import get_job

router = APIRouter(tags=["predictions"])

_BATCH = 100
_BLOCK_MS = 30_000
# A queued job's place is read again at most this often, however often its queue moves.
PLACE_EVERY_S = 1.0
# Events after which the job is no longer queued.
LEAVES_QUEUE = frozenset({EventType.STARTED, EventType.COMPLETED})


def queued_update(info: QueueInfo) -> dict[str, Any]:
    """The data of a `queued` update: where the job stands now."""
    return {"status": "queued", "queue_position": info.position, "eta": iso_time(info.eta)}


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
    completed (whose data is the final prediction). Resume with `Last-Event-ID`. While the job
    waits, a `queued` event without an id says its `queue_position` and `eta` each time the
    position changes. A server shutting down ends the stream with a `retry:` field: reconnect
    (with `Last-Event-ID`) when it ends before `completed`."""
    if last_event_id is not None and not is_event_id(last_event_id):
        raise InvalidInput([InvalidField("Last-Event-ID", "must be an event id from this stream")])
    first = await job_or_404(runtime, caller, prediction_id)
    model = first.model
    slot = runtime.waits.take(caller.tenant)  # 429 past the caps on open streams

    async def events() -> AsyncIterator[ServerSentEvent]:
        """The job's events; when the server starts draining, a `retry:` and the end (the
        client resumes with Last-Event-ID, on another replica)."""
        drain = runtime.drain
        try:
            async for event in until_set(follow(), drain.begun):
                yield event
            if drain.draining:
                yield ServerSentEvent(comment=FAREWELL, retry=RECONNECT_MS)
        finally:
            slot.release()

    async def follow() -> AsyncGenerator[ServerSentEvent, None]:
        last = last_event_id or "0-0"
        link: Callable[[str], str] | None = None  # made at the first output: one expiry per stream
        queued = first.status is JobStatus.QUEUED
        moves = await runtime.store.run(newest_move(model))
        position: int | None = None  # the queue position sent last

        async def moved_place() -> ServerSentEvent | None:
            """A `queued` update when the job's place differs from the one sent last."""
            nonlocal position
            info = await place_info(runtime, prediction_id, model)
            if info is None or info.position == position:
                return None
            position = info.position
            return ServerSentEvent(data=json.dumps(queued_update(info)), event="queued")

        stale = True  # the queue moved since the place was last read
        read_at = -PLACE_EVERY_S  # when it was (monotonic)
        if queued and last_event_id is not None:
            stale, read_at = False, time.monotonic()
            if update := await moved_place():
                yield update  # a resumed stream learns its place before anything new happens
        while True:
            if queued and stale:  # moves add nothing until the place may be read again
                due_ms = (read_at + PLACE_EVERY_S - time.monotonic()) * 1000
                wait_ms = max(1, min(_BLOCK_MS, math.ceil(due_ms)))
                read = read_events(prediction_id, last, _BATCH, block_ms=wait_ms)
                events, moved = await runtime.blocking.run(read), False
            elif queued:
                follow = read_events_or_moves(prediction_id, last, model, moves, _BATCH, _BLOCK_MS)
                found = await runtime.blocking.run(follow)
                events, moves = found.events, found.moved_to or moves
                moved = stale = found.moved_to is not None
            else:
                read = read_events(prediction_id, last, _BATCH, block_ms=_BLOCK_MS)
                events, moved = await runtime.blocking.run(read), False
            if not events and not moved and await runtime.store.run(get_job(prediction_id)) is None:
                return  # the job expired while we waited
            for event in events:
                last, data = event.id, event.data
                if event.type in LEAVES_QUEUE:
                    queued, position = False, None
                elif event.type is EventType.REQUEUED:
                    queued = True
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
            if queued and stale and time.monotonic() - read_at >= PLACE_EVERY_S:
                stale, read_at = False, time.monotonic()
                if update := await moved_place():
                    yield update
                elif await runtime.store.run(get_job(prediction_id)) is None:
                    return  # the job expired while it waited (its queue moved on)

    return EventSourceResponse(
        events(),
        ping=runtime.settings.sse_ping_s,
        send_timeout=30,
        background=BackgroundTask(slot.release),  # also when the stream never started
    )
