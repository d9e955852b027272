"""Which running jobs lost their worker, and what happens to them (pure decision)."""

from __future__ import annotations

import pytest

from sdq.job import Job, JobStatus
from sdq.recovery import Recovery, decide_recovery


def running(worker: str, attempt: int = 1, job_id: str = "j") -> Job:
    return Job(
        id=job_id,
        model="sdq/tiny",
        input={},
        created_at=0,
        status=JobStatus.RUNNING,
        worker_id=worker,
        attempt=attempt,
    )


@pytest.mark.parametrize(
    ("job", "live", "max_attempts", "expected"),
    [
        (running("w1"), {"w1"}, 3, None),
        (running("w1"), set(), 3, Recovery.REQUEUE),
        (running("w1", attempt=2), {"w2"}, 3, Recovery.REQUEUE),
        (running("w1", attempt=3), set(), 3, Recovery.FAIL),
        (running("w1", attempt=1), set(), 1, Recovery.FAIL),
    ],
)
def test_recovery_table(
    job: Job, live: set[str], max_attempts: int, expected: Recovery | None
) -> None:
    decisions = decide_recovery([job], live, max_attempts)
    assert [d.action for d in decisions] == ([expected] if expected else [])
    for decision in decisions:
        assert job.worker_id is not None and job.worker_id in decision.reason


def test_jobs_not_running_are_left_alone() -> None:
    job = running("w1").model_copy(update={"status": JobStatus.SUCCEEDED})
    assert decide_recovery([job], set(), 3) == []
