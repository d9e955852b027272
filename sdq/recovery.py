"""The API's periodic pass over jobs: those whose worker died mid-run (found by an expired
heartbeat) or moved on without their outcome on record are requeued or failed; queued ones whose
deadline passed are aborted."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from sdq import metrics
from sdq.job import Job, JobStatus, Transition
from sdq.store import heartbeats
from sdq.store.heartbeats import Heartbeat, WorkerState
from sdq.store.jobs import expired_job_ids, get_job, running_job_ids, transition
from sdq.store.ops import AsyncOpRunner

log = logging.getLogger(__name__)


class Recovery(StrEnum):
    REQUEUE = "requeue"
    FAIL = "fail"


@dataclass(frozen=True)
class RecoveryDecision:
    job: Job
    action: Recovery
    reason: str


def lost_reason(job: Job, beat: Heartbeat | None, idle_grace_s: float) -> str | None:
    """Pure: why the job's worker no longer runs it (None: it still may). Its heartbeat stopped;
    or, seen after the job started, the worker is busy with another job or idle for longer than
    a claim takes (the outcome it wrote was lost, as to a Redis failover)."""
    worker, attempt = job.worker_id, job.attempt
    if beat is None:
        return f"worker {worker} stopped sending heartbeats during attempt {attempt}"
    current = beat.current_jobs
    if job.id in current or job.started_at is None:
        return None
    if beat.state is WorkerState.BUSY and current and beat.seen_at > job.started_at:
        moved = f"worker {worker} moved on to job {current[0]}"
        return f"{moved}; attempt {attempt}'s outcome was lost"
    if beat.state is WorkerState.IDLE and beat.seen_at > job.started_at + idle_grace_s:
        return f"worker {worker} is idle; attempt {attempt}'s outcome was lost"
    return None


def decide_recovery(
    running: list[Job], live: Mapping[str, Heartbeat], max_attempts: int, idle_grace_s: float
) -> list[RecoveryDecision]:
    """Pure: which running jobs lost their worker, and whether each gets another attempt."""
    decisions = []
    for job in running:
        if job.status is not JobStatus.RUNNING:
            continue
        lost = lost_reason(job, live.get(job.worker_id or ""), idle_grace_s)
        if lost is None:
            continue
        if job.attempt >= max_attempts:
            reason = f"{lost}; giving up after {job.attempt} of {max_attempts} attempts"
            decisions.append(RecoveryDecision(job, Recovery.FAIL, reason))
        else:
            decisions.append(RecoveryDecision(job, Recovery.REQUEUE, lost))
    return decisions


Enqueue = Callable[[str, str], Awaitable[None]]

EXPIRED_BATCH = 100
EXPIRED_BATCHES_PER_PASS = 10


async def abort_expired(store: AsyncOpRunner, *, now: float, retention_s: int) -> list[Job]:
    """Abort queued jobs whose deadline passed, so they end even when no worker comes; the cost
    grows with the expired jobs, not with the queues (at most 1000 a pass, the rest next pass)."""
    aborted = []
    for _ in range(EXPIRED_BATCHES_PER_PASS):
        ids = await store.run(expired_job_ids(now, EXPIRED_BATCH))
        for job_id in ids:
            job = await store.run(
                transition(Transition.ABORT, job_id, retention_s=retention_s, now=now)
            )
            if job is not None:  # None: it started or ended meanwhile (its entry is dropped)
                log.info("aborted job: %s", job.error, extra={"job_id": job.id})
                metrics.job_finished(job.model, JobStatus.ABORTED)
                aborted.append(job)
        if len(ids) < EXPIRED_BATCH:
            break
    return aborted


async def reap_once(
    store: AsyncOpRunner,
    enqueue: Enqueue,
    *,
    now: float,
    heartbeat_ttl_s: float,
    max_attempts: int,
    retention_s: int,
) -> list[RecoveryDecision]:
    """One pass: abort queued jobs past their deadline; find running jobs of dead workers and
    requeue (or fail) each, fenced by attempt. Returns the recovery decisions applied."""
    await abort_expired(store, now=now, retention_s=retention_s)
    ids = await store.run(running_job_ids())
    if not ids:
        return []
    live = {b.worker_id: b for b in await store.run(heartbeats.live_workers(now, heartbeat_ttl_s))}
    running = [job for job_id in ids if (job := await store.run(get_job(job_id))) is not None]
    applied = []
    for decision in decide_recovery(running, live, max_attempts, heartbeat_ttl_s):
        job = decision.job
        requeue = decision.action is Recovery.REQUEUE
        changed = await store.run(
            transition(
                Transition.REQUEUE if requeue else Transition.FINISH,
                job.id,
                to=None if requeue else JobStatus.FAILED,
                attempt=job.attempt,
                worker_id=job.worker_id or "",
                retention_s=retention_s,
                now=now,
                event_data={"reason": decision.reason},
                fields={"cancel_requested": False}
                if requeue
                else {"error": decision.reason, "completed_at": now},
            )
        )
        if changed is None:
            continue  # the job moved on meanwhile (finished, or reaped by another replica)
        if requeue:
            metrics.job_recovered(job.model)
            await enqueue(job.id, job.model)
        else:
            metrics.job_finished(job.model, JobStatus.FAILED)
        log.warning("%s job: %s", decision.action.value, decision.reason, extra={"job_id": job.id})
        applied.append(decision)
    return applied
