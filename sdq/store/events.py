"""The one reader of a job's event stream: entries after an id (blocking or not), newest first,
and (for a queued job's position) its model's queue moves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sdq.job import EventType
from sdq.store import redis_keys as keys
from sdq.store.ops import Op


@dataclass(frozen=True)
class JobEvent:
    """One entry of a job's event stream: its stream id (an SSE event id), type and data."""

    id: str
    type: EventType
    data: dict[str, Any]


def _event(entry_id: str, fields: dict[str, str]) -> JobEvent:
    return JobEvent(
        entry_id, EventType(fields.get("type", "")), json.loads(fields.get("data") or "{}")
    )


def _entries(raw: Any) -> list[tuple[str, dict[str, str]]]:
    """XREAD's reply for one stream (RESP2 list or RESP3 map) as (id, fields) pairs."""
    if not raw:
        return []
    streams = raw.values() if isinstance(raw, dict) else [entries for _, entries in raw]
    found: list[tuple[str, dict[str, str]]] = []
    for entries in streams:
        found += [(entry_id, fields) for entry_id, fields in entries if fields is not None]
    return found


def read_events(
    job_id: str, after: str, count: int, block_ms: int | None = None
) -> Op[list[JobEvent]]:
    """Events after stream id `after` ('0-0': from the start), oldest first, at most `count`;
    with `block_ms`, wait up to that long for the first one (run it on a blocking client)."""
    block = () if block_ms is None else ("BLOCK", str(max(1, block_ms)))
    return Op(
        keys=(),
        args=("XREAD", "COUNT", str(count), *block, "STREAMS", keys.job_events(job_id), after),
        decode=lambda raw: [_event(entry_id, fields) for entry_id, fields in _entries(raw)],
    )


def newest_events(job_id: str, count: int) -> Op[list[JobEvent]]:
    """The job's newest events, newest first."""
    return Op(
        keys=(),
        args=("XREVRANGE", keys.job_events(job_id), "+", "-", "COUNT", str(count)),
        decode=lambda raw: [_event(entry_id, fields) for entry_id, fields in raw or []],
    )


@dataclass(frozen=True)
class EventsOrMoves:
    """What a read of a job's events together with its model's queue moves found: the job's new
    events, and the id of the newest queue move (None: the queue did not move)."""

    events: list[JobEvent]
    moved_to: str | None


def read_events_or_moves(
    job_id: str, after: str, model_id: str, moves_after: str, count: int, block_ms: int
) -> Op[EventsOrMoves]:
    """Like `read_events` with BLOCK, waking up also when the model's queue moves (a job joined
    or left it): for following a queued job's position (run it on a blocking client)."""
    events_key, moves_key = keys.job_events(job_id), keys.queue_moves(model_id)

    def decode(raw: Any) -> EventsOrMoves:
        streams = raw.items() if isinstance(raw, dict) else (raw or [])
        events: list[JobEvent] = []
        moved_to = None
        for name, entries in streams:
            found = [(entry_id, fields) for entry_id, fields in entries if fields is not None]
            if name == events_key:
                events = [_event(entry_id, fields) for entry_id, fields in found]
            elif found:
                moved_to = found[-1][0]
        return EventsOrMoves(events, moved_to)

    return Op(
        keys=(),
        args=(
            "XREAD",
            "COUNT",
            str(count),
            "BLOCK",
            str(max(1, block_ms)),
            "STREAMS",
            events_key,
            moves_key,
            after,
            moves_after,
        ),
        decode=decode,
    )


def newest_move(model_id: str) -> Op[str]:
    """The id of the newest note of the model's queue moving ('0-0': none yet)."""
    return Op(
        keys=(),
        args=("XREVRANGE", keys.queue_moves(model_id), "+", "-", "COUNT", "1"),
        decode=lambda raw: raw[0][0] if raw else "0-0",
    )
