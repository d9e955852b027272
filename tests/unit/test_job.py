"""The job lifecycle: ids, terminal states, Replicate status names, the transition table."""

from __future__ import annotations

import pytest

from sdq.job import TRANSITIONS, JobStatus, new_job_id


def test_job_ids_are_random_and_long_enough() -> None:
    ids = {new_job_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(len(i) == 26 and i.isalnum() and i.islower() for i in ids)  # 130 bits in base32


@pytest.mark.parametrize(
    ("status", "terminal", "replicate"),
    [
        (JobStatus.QUEUED, False, "starting"),
        (JobStatus.RUNNING, False, "processing"),
        (JobStatus.SUCCEEDED, True, "succeeded"),
        (JobStatus.FAILED, True, "failed"),
        (JobStatus.CANCELED, True, "canceled"),
        (JobStatus.ABORTED, True, "aborted"),
    ],
)
def test_status_table(status: JobStatus, terminal: bool, replicate: str) -> None:
    assert status.is_terminal is terminal
    assert status.replicate_name == replicate


def test_no_transition_leaves_a_terminal_state() -> None:
    for name, (sources, _) in TRANSITIONS.items():
        assert not any(s.is_terminal for s in sources), name
