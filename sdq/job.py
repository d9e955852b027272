"""The job: its lifecycle states, the allowed transitions, and the record kept in Redis."""

from __future__ import annotations

import base64
import secrets
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class JobStatus(StrEnum):
    """Where a job is in its life; the last four never change once written."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    ABORTED = "aborted"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def replicate_name(self) -> str:
        """The status name the Replicate predictions API uses for this state."""
        return _REPLICATE_NAMES.get(self, self.value)


TERMINAL_STATUSES = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.ABORTED}
)

_REPLICATE_NAMES = {JobStatus.QUEUED: "starting", JobStatus.RUNNING: "processing"}

# Every transition the system makes, in one table. The store enforces it atomically in Redis.
TRANSITIONS: dict[str, tuple[frozenset[JobStatus], JobStatus | None]] = {
    # name: (from, to); None means the target is given by the caller among the terminal states.
    "claim": (frozenset({JobStatus.QUEUED}), JobStatus.RUNNING),
    "finish": (frozenset({JobStatus.RUNNING}), None),
    "requeue": (frozenset({JobStatus.RUNNING}), JobStatus.QUEUED),
    "cancel_queued": (frozenset({JobStatus.QUEUED}), JobStatus.CANCELED),
}


def new_job_id() -> str:
    """A random, unguessable id: 130 bits from the OS CSPRNG, lowercase base32 (26 chars)."""
    raw = secrets.randbits(130).to_bytes(17, "big")
    return base64.b32encode(raw).decode().lower().rstrip("=")[:26]


WEBHOOK_EVENTS = ("start", "output", "logs", "completed")


class JobMetrics(BaseModel):
    """Timings of one job, in seconds."""

    queue_wait: float | None = None
    predict_time: float | None = None
    total_time: float | None = None


class Job(BaseModel):
    """The whole record of one generation job, as stored and as read back."""

    id: str
    model: str
    input: dict[str, Any]
    status: JobStatus = JobStatus.QUEUED
    created_at: float
    started_at: float | None = None
    completed_at: float | None = None
    attempt: int = 0
    worker_id: str | None = None
    output: list[str] = Field(default_factory=list)
    error: str | None = None
    logs: str = ""
    metrics: JobMetrics = Field(default_factory=JobMetrics)
    tenant: str = "default"
    cancel_requested: bool = False
    webhook: str | None = None
    webhook_events_filter: list[str] = Field(default_factory=list)
