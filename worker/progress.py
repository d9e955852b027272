"""Reporting a running job's progress: one event per step (it/s, ETA), log lines, and whether to
stop (a cancel request, a superseded attempt, or the job's deadline)."""

from __future__ import annotations

import logging
import time
from typing import Any

from sdq.inputs import GenerationInput
from sdq.job import EventType, Job, WebhookEvent
from sdq.store.jobs import append_event
from sdq.store.ops import Op
from worker.runtime import WorkerRuntime

log = logging.getLogger(__name__)


def format_duration(seconds: float) -> str:
    """A duration the way Go (and Cancel-After) writes it: 500ms, 30s, 1m30s, 1h30m."""
    ms = round(seconds * 1000)
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{rest / 1000:g}s" if rest else "")


def deadline_stop_reason(job: Job) -> str:
    """Why a job still running at its deadline was stopped (its `error` and a `logs` line)."""
    assert job.deadline_at is not None
    after = format_duration(job.deadline_at - job.created_at)
    return f"stopped: its deadline ({after} after submission) passed while it was running"


class ProgressReporter:
    """The step callback of one attempt; its answer tells the pipeline whether to stop.
    `stopped_by_deadline` holds the reason once the job's deadline stopped it."""

    def __init__(self, runtime: WorkerRuntime, job: Job, request: GenerationInput) -> None:
        self._runtime = runtime
        self._job = job
        self._request = request
        self._started = time.perf_counter()
        self._preview_every = request.preview_every
        self._notice = runtime.engine.notice
        self.stopped_by_deadline: str | None = None

    def canceled_fields(self) -> dict[str, Any]:
        """The stopped job's fields for its `canceled` outcome: the reason (logged) when its
        deadline stopped it; none when a cancel did."""
        if self.stopped_by_deadline is None:
            return {}
        log.info("%s", self.stopped_by_deadline)
        return {"error": self.stopped_by_deadline}

    def __call__(self, step: int, total: int, latents: Any) -> bool:
        elapsed = time.perf_counter() - self._started
        rate = step / elapsed if elapsed > 0 else 0.0
        eta = (total - step) / rate if rate > 0 else None
        data: dict[str, Any] = {
            "step": step,
            "total": total,
            "it_per_s": round(rate, 3),
            "eta_s": None if eta is None else round(eta, 3),
        }
        line = f"{step}/{total} steps, {rate:.2f} it/s"
        if step == 1 and self._notice:
            line = f"{self._notice}\n{line}"
        deadline = self._job.deadline_at
        if deadline is not None and step < total and time.time() >= deadline:
            self.stopped_by_deadline = deadline_stop_reason(self._job)
            line = f"{line}\n{self.stopped_by_deadline}"
        stop = self._emit(EventType.PROGRESS, data, line, WebhookEvent.LOGS)
        if self.stopped_by_deadline is not None:
            return True
        if not stop and self._preview_every and step % self._preview_every == 0:
            image = self._runtime.engine.preview(latents)
            if image is not None:
                preview = {"step": step, "total": total, "image": image}
                stop = self._emit(EventType.PREVIEW, preview, "")
        return stop

    def output(self, keys: list[str]) -> Op[bool]:
        """The `output` event of the stored `keys`, to run just before the terminal write (in
        its round trip: `worker.job_finish.finish`)."""
        return self._event(EventType.OUTPUT, {"output": keys}, "", WebhookEvent.OUTPUT)

    def _emit(
        self,
        event: EventType,
        data: dict[str, Any],
        line: str,
        webhook_event: WebhookEvent | None = None,
    ) -> bool:
        return self._runtime.store.run(self._event(event, data, line, webhook_event))

    def _event(
        self,
        event: EventType,
        data: dict[str, Any],
        line: str,
        webhook_event: WebhookEvent | None = None,
    ) -> Op[bool]:
        runtime, job = self._runtime, self._job
        settings = runtime.settings
        assert job.worker_id is not None
        return append_event(
            job.id,
            attempt=job.attempt,
            worker_id=job.worker_id,
            event=event,
            data=data,
            log_line=line,
            webhook_event=webhook_event,
            now=time.time(),
            webhook_min_interval_s=settings.webhook_intermediate_interval_s,
            retention_s=settings.job_retention_s,
        )
