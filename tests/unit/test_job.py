"""The job lifecycle: ids, terminal states, Replicate status names, the transition table."""

from __future__ import annotations

import pytest

from sdq.job import TRANSITIONS, EventType, JobStatus, Transition, WebhookEvent, new_job_id
from sdq.store.jobs import transition


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
    for name, rule in TRANSITIONS.items():
        assert not any(s.is_terminal for s in rule.sources), name


Q, R = JobStatus.QUEUED, JobStatus.RUNNING
S, F, C = JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED
A = JobStatus.ABORTED


@pytest.mark.parametrize(
    ("name", "sources", "targets", "event", "webhook", "bumps", "fenced"),
    [
        (Transition.CLAIM, {Q}, {R}, EventType.STARTED, WebhookEvent.START, True, False),
        (
            Transition.FINISH,
            {R},
            {S, F, C},
            EventType.COMPLETED,
            WebhookEvent.COMPLETED,
            False,
            True,
        ),
        (Transition.REQUEUE, {R}, {Q}, EventType.REQUEUED, None, False, True),
        (
            Transition.CANCEL_QUEUED,
            {Q},
            {C},
            EventType.COMPLETED,
            WebhookEvent.COMPLETED,
            False,
            False,
        ),
        (
            Transition.FAIL_QUEUED,
            {Q},
            {F},
            EventType.COMPLETED,
            WebhookEvent.COMPLETED,
            False,
            False,
        ),
        (Transition.ABORT, {Q}, {A}, EventType.COMPLETED, WebhookEvent.COMPLETED, False, False),
    ],
)
def test_transition_table(
    name: Transition,
    sources: set[JobStatus],
    targets: set[JobStatus],
    event: EventType,
    webhook: WebhookEvent | None,
    bumps: bool,
    fenced: bool,
) -> None:
    rule = TRANSITIONS[name]
    assert (rule.sources, rule.targets) == (frozenset(sources), frozenset(targets))
    assert (rule.event, rule.webhook, rule.bumps_attempt, rule.fenced) == (
        event,
        webhook,
        bumps,
        fenced,
    )


def test_every_transition_has_a_rule() -> None:
    assert set(TRANSITIONS) == set(Transition)


def test_deadlines_in_the_table_a_claim_past_it_aborts_and_abort_waits_for_it() -> None:
    deadline_rules = {
        name: (rule.on_deadline, rule.after_deadline)
        for name, rule in TRANSITIONS.items()
        if rule.on_deadline or rule.after_deadline
    }
    assert deadline_rules == {
        Transition.CLAIM: (Transition.ABORT, False),
        Transition.ABORT: (None, True),
    }


@pytest.mark.parametrize(
    ("name", "kwargs", "problem"),
    [
        (Transition.FINISH, {"attempt": 1, "worker_id": "w"}, "leads to one of"),
        (Transition.FINISH, {"to": JobStatus.QUEUED, "attempt": 1, "worker_id": "w"}, "leads to"),
        (Transition.CLAIM, {"to": JobStatus.SUCCEEDED}, "leads to one of running"),
        (Transition.FINISH, {"to": JobStatus.FAILED}, "is fenced"),
        (Transition.REQUEUE, {"attempt": 1}, "is fenced"),
    ],
)
def test_transition_ops_refuse_what_the_table_forbids(
    name: Transition, kwargs: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        transition(name, "job", retention_s=60, now=0.0, **kwargs)  # type: ignore[arg-type]
