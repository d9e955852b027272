"""The job: its states, its events, the one table of transitions between states, and its record."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from sdq.scheduling import DEFAULT_PRIORITY, LEAST_URGENT, MOST_URGENT


class JobStatus(StrEnum):
    """Where a job is in its life; the last four never change once written."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    ABORTED = "aborted"  # its deadline passed before it started (written by queue semantics)

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


class EventType(StrEnum):
    """The types of the entries in each job's event stream."""

    QUEUED = "queued"
    STARTED = "started"
    REQUEUED = "requeued"
    PROGRESS = "progress"
    PREVIEW = "preview"
    OUTPUT = "output"
    COMPLETED = "completed"


class WebhookEvent(StrEnum):
    """The events a prediction's webhook can ask for (Replicate's `webhook_events_filter`)."""

    START = "start"
    OUTPUT = "output"
    LOGS = "logs"
    COMPLETED = "completed"


WEBHOOK_EVENTS = tuple(WebhookEvent)


class Transition(StrEnum):
    """Every change of a job's status the system makes."""

    CLAIM = "claim"
    FINISH = "finish"
    REQUEUE = "requeue"
    CANCEL_QUEUED = "cancel_queued"
    FAIL_QUEUED = "fail_queued"  # its model failed to load too many times in a row
    ABORT = "abort"  # its deadline passed before it started


@dataclass(frozen=True)
class TransitionRule:
    """What one transition is allowed to do and what it writes besides the new status.

    `targets` has one status, or several when the caller picks (a finished attempt's outcome).
    `fenced` transitions apply only to the attempt and worker the caller names, so a superseded
    attempt can never overwrite a newer one. `start` webhooks go out for the first attempt only.
    `on_deadline` names the transition applied instead once the job's deadline has passed (a
    claim of an expired job aborts it); `after_deadline` rules apply only once it has passed, and
    write the reason (`error`, a `logs` line) and `completed_at` themselves.
    """

    sources: frozenset[JobStatus]
    targets: frozenset[JobStatus]
    event: EventType
    webhook: WebhookEvent | None
    bumps_attempt: bool
    fenced: bool
    on_deadline: Transition | None = None
    after_deadline: bool = False


# The one table: the store's Lua script reads it too (rendered into the script at import).
TRANSITIONS: dict[Transition, TransitionRule] = {
    Transition.CLAIM: TransitionRule(
        sources=frozenset({JobStatus.QUEUED}),
        targets=frozenset({JobStatus.RUNNING}),
        event=EventType.STARTED,
        webhook=WebhookEvent.START,
        bumps_attempt=True,
        fenced=False,
        on_deadline=Transition.ABORT,
    ),
    Transition.FINISH: TransitionRule(
        sources=frozenset({JobStatus.RUNNING}),
        targets=frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED}),
        event=EventType.COMPLETED,
        webhook=WebhookEvent.COMPLETED,
        bumps_attempt=False,
        fenced=True,
    ),
    Transition.REQUEUE: TransitionRule(
        sources=frozenset({JobStatus.RUNNING}),
        targets=frozenset({JobStatus.QUEUED}),
        event=EventType.REQUEUED,
        webhook=None,
        bumps_attempt=False,
        fenced=True,
    ),
    Transition.CANCEL_QUEUED: TransitionRule(
        sources=frozenset({JobStatus.QUEUED}),
        targets=frozenset({JobStatus.CANCELED}),
        event=EventType.COMPLETED,
        webhook=WebhookEvent.COMPLETED,
        bumps_attempt=False,
        fenced=False,
    ),
    Transition.FAIL_QUEUED: TransitionRule(
        sources=frozenset({JobStatus.QUEUED}),
        targets=frozenset({JobStatus.FAILED}),
        event=EventType.COMPLETED,
        webhook=WebhookEvent.COMPLETED,
        bumps_attempt=False,
        fenced=False,
    ),
    Transition.ABORT: TransitionRule(
        sources=frozenset({JobStatus.QUEUED}),
        targets=frozenset({JobStatus.ABORTED}),
        event=EventType.COMPLETED,
        webhook=WebhookEvent.COMPLETED,
        bumps_attempt=False,
        fenced=False,
        after_deadline=True,
    ),
}


def new_job_id() -> str:
    """A random, unguessable id: 130 bits from the OS CSPRNG, lowercase base32 (26 chars)."""
    raw = secrets.randbits(130).to_bytes(17, "big")
    return base64.b32encode(raw).decode().lower().rstrip("=")[:26]


_JOB_ID = re.compile(r"[a-z2-7]{26}")


def is_job_id(value: str) -> bool:
    """Whether `value` has the shape `new_job_id` gives (checked before it names a Redis key)."""
    return _JOB_ID.fullmatch(value) is not None


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
    webhook_events_filter: list[WebhookEvent] = Field(default_factory=list)
    deadline_at: float | None = None  # unix seconds: aborted if not started by then, else stopped
    retry_of: str | None = None  # the failed, aborted or canceled prediction this one repeats
    priority: int = Field(default=DEFAULT_PRIORITY, ge=MOST_URGENT, le=LEAST_URGENT)
