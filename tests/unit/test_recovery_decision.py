"""Which running jobs lost their worker, and what happens to them (pure decision)."""

from __future__ import annotations

import pytest

from sdq.job import Job, JobStatus
from sdq.recovery import Recovery, decide_recovery
from sdq.store.heartbeats import Heartbeat, WorkerState

STARTED = 100.0
GRACE = 4.0


def running(worker: str, attempt: int = 1, job_id: str = "j") -> Job:
    return Job(
        id=job_id,
        model="sdq/tiny",
        input={},
        created_at=0,
        status=JobStatus.RUNNING,
        worker_id=worker,
        attempt=attempt,
        started_at=STARTED,
    )


def beat(
    worker: str, job_id: str | None = "j", seen_at: float = STARTED + 1, batch: tuple[str, ...] = ()
) -> Heartbeat:
    state = WorkerState.IDLE if job_id is None else WorkerState.BUSY
    return Heartbeat(
        worker_id=worker,
        host="h",
        pid=1,
        model="sdq/tiny",
        state=state,
        job_id=job_id,
        job_ids=[job_id, *batch] if batch and job_id else [],
        started_at=0,
        seen_at=seen_at,
    )


@pytest.mark.parametrize(
    ("job", "beats", "max_attempts", "expected", "why"),
    [
        (running("w1"), [beat("w1")], 3, None, None),
        (running("w1"), [], 3, Recovery.REQUEUE, "stopped sending heartbeats"),
        (running("w1", attempt=2), [beat("w2")], 3, Recovery.REQUEUE, "stopped sending"),
        (running("w1", attempt=3), [], 3, Recovery.FAIL, "giving up after 3 of 3"),
        (running("w1", attempt=1), [], 1, Recovery.FAIL, "giving up after 1 of 1"),
        # its outcome was lost (a Redis failover): the live worker went on without the job
        (running("w1"), [beat("w1", "other")], 3, Recovery.REQUEUE, "moved on to job other"),
        (running("w1"), [beat("w1", None, STARTED + GRACE + 1)], 3, Recovery.REQUEUE, "idle"),
        # a heartbeat from before the claim, or idle only as long as a claim may take: it holds
        (running("w1"), [beat("w1", "other", STARTED - 1)], 3, None, None),
        (running("w1"), [beat("w1", None, STARTED + GRACE - 1)], 3, None, None),
        # a batch: the worker runs every job its heartbeat names, the first or not
        (running("w1"), [beat("w1", "other", batch=("j", "third"))], 3, None, None),
        (running("w1"), [beat("w1", "other", batch=("third",))], 3, Recovery.REQUEUE, "moved on"),
        (running("w1"), [], 3, Recovery.REQUEUE, "stopped sending heartbeats"),
    ],
)
def test_recovery_table(
    job: Job,
    beats: list[Heartbeat],
    max_attempts: int,
    expected: Recovery | None,
    why: str | None,
) -> None:
    live = {b.worker_id: b for b in beats}
    decisions = decide_recovery([job], live, max_attempts, GRACE)
    assert [d.action for d in decisions] == ([expected] if expected else [])
    for decision in decisions:
        assert job.worker_id is not None and job.worker_id in decision.reason
        assert why is not None and why in decision.reason


def test_jobs_not_running_are_left_alone() -> None:
    job = running("w1").model_copy(update={"status": JobStatus.SUCCEEDED})
    assert decide_recovery([job], {}, 3, GRACE) == []
