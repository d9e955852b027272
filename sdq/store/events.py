"""The one reader of a job's event stream: entries after an id (blocking or not), newest first."""

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
