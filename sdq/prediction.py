"""Rendering jobs as Replicate-style prediction objects (the API and webhook payloads)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, overload

from sdq.job import Job, JobStatus


@overload
def iso_time(ts: float) -> str: ...
@overload
def iso_time(ts: float | None) -> str | None: ...
def iso_time(ts: float | None) -> str | None:
    if ts is None:
        return None
    # isoformat is a third of strftime's cost; "+00:00" becomes "Z".
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def output_url(base_url: str, key: str) -> str:
    return f"{base_url}/v1/files/{key}"


@dataclass(frozen=True)
class QueueInfo:
    """Where a queued job stands: jobs to be taken before it (0: next), and when it should be
    done (unix seconds, an estimate)."""

    position: int
    eta: float


def prediction(
    job: Job,
    base_url: str,
    wait_expired: bool = False,
    link: Callable[[str], str] | None = None,
    knows_aborted: bool = True,
    queue: QueueInfo | None = None,
) -> dict[str, Any]:
    """The prediction object of Replicate's API for one job. When a `Prefer: wait` ran out
    before the job finished, the status says `starting`, as Replicate's does, so that its
    clients keep polling instead of taking a running job for a finished one. `link` turns an
    output key into its URL (presigned on object storage); by default the API's files route.
    Without `knows_aborted` (a client that rejects the status), `aborted` reads `canceled`; the
    error still says that the deadline passed before the job started. `queue` (a queued job's
    place) fills `queue_position` and `eta`; they are null otherwise."""
    get_url = f"{base_url}/v1/predictions/{job.id}"
    metrics: dict[str, Any] = {
        name: value for name, value in job.metrics.model_dump().items() if value is not None
    }
    return {
        "id": job.id,
        "model": job.model,
        "version": job.model,
        "input": job.input,
        "output": [(link or partial(output_url, base_url))(key) for key in job.output]
        if job.output
        else None,
        "error": job.error,
        "logs": job.logs,
        "status": "starting"
        if wait_expired and not job.status.is_terminal
        else (
            "canceled"
            if job.status is JobStatus.ABORTED and not knows_aborted
            else job.status.replicate_name
        ),
        "source": "api",
        "data_removed": False,
        "created_at": iso_time(job.created_at),
        "started_at": iso_time(job.started_at),
        "completed_at": iso_time(job.completed_at),
        "urls": {"get": get_url, "cancel": f"{get_url}/cancel", "stream": f"{get_url}/stream"},
        "metrics": metrics,
        "attempt": job.attempt,
        "retry_of": job.retry_of,
        "priority": job.priority,
        "queue_position": queue.position if queue else None,
        "eta": iso_time(queue.eta) if queue else None,
    }
