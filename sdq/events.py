"""Job events: the types of the entries in each job's Redis Stream."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    REQUEUED = "requeued"
    PROGRESS = "progress"
    PREVIEW = "preview"
    OUTPUT = "output"
    COMPLETED = "completed"
