"""Job events: names and encoding of the entries in each job's Redis Stream."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

STREAM_MAXLEN = 1000


class EventType(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    REQUEUED = "requeued"
    PROGRESS = "progress"
    OUTPUT = "output"
    COMPLETED = "completed"


def encode_event(kind: EventType, data: dict[str, Any]) -> dict[str, str]:
    """The stream entry fields for one event."""
    return {"type": kind.value, "data": json.dumps(data, separators=(",", ":"))}


def decode_event(fields: dict[str, str]) -> tuple[EventType, dict[str, Any]]:
    data = json.loads(fields.get("data", "{}"))
    return EventType(fields["type"]), data
