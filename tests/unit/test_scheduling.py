"""Which job a free worker takes next: priority first, then the tenant served least recently,
FIFO within a tenant; and a queued job's position in that order."""

from __future__ import annotations

import pytest

from sdq.scheduling import (
    Affinity,
    Candidate,
    QueueState,
    choose,
    claim_order,
    enqueue,
    next_job,
    queue_position,
)

# (what arrives, in order, as "priority tenant job", the order workers take them)
ORDERS = [
    pytest.param(["1 a a1", "1 a a2", "1 a a3"], "a1 a2 a3", id="one tenant: FIFO"),
    pytest.param(
        ["1 a a1", "1 a a2", "1 a a3", "1 b b1"], "a1 b1 a2 a3", id="a late tenant takes turns"
    ),
    pytest.param(
        ["1 a a1", "1 a a2", "1 b b1", "1 b b2", "1 c c1"],
        "a1 b1 c1 a2 b2",
        id="three tenants round robin",
    ),
    pytest.param(["1 a a1", "2 a a2", "0 b b1"], "b1 a1 a2", id="priority before fair share"),
    pytest.param(
        ["2 a a1", "1 a a2", "1 b b1", "0 c c1", "1 b b2"],
        "c1 a2 b1 b2 a1",
        id="fair share within a priority",
    ),
]


def arrive(state: QueueState, line: str) -> QueueState:
    priority, tenant, job = line.split()
    return enqueue(state, int(priority), tenant, job)


@pytest.mark.parametrize(("arrivals", "expected"), ORDERS)
def test_claim_order(arrivals: list[str], expected: str) -> None:
    state = QueueState()
    for line in arrivals:
        state = arrive(state, line)
    assert claim_order(state) == expected.split()


@pytest.mark.parametrize(("arrivals", "expected"), ORDERS)
def test_position_is_the_place_in_the_claim_order_within_one_priority(
    arrivals: list[str], expected: str
) -> None:
    state = QueueState()
    for line in arrivals:
        state = arrive(state, line)
    order = claim_order(state)
    one_priority = len({line.split()[0] for line in arrivals}) == 1
    for job in order:
        position = queue_position(state, job)
        assert position is not None
        if one_priority:
            assert position == order.index(job), job
    assert queue_position(state, "nobody") is None


def test_the_tenant_served_least_recently_goes_first() -> None:
    state = QueueState()
    for line in ["1 a a1", "1 b b1"]:
        state = arrive(state, line)
    taken = next_job(state)
    assert taken is not None
    first, state = taken  # a1: a is now the most recently served
    state = arrive(state, "1 a a2")
    state = arrive(state, "1 c c1")  # new to the model: behind b, ahead of a
    assert [first, *claim_order(state)] == ["a1", "b1", "c1", "a2"]


def test_a_hundred_jobs_of_one_tenant_do_not_stand_before_anothers_one() -> None:
    state = QueueState()
    for index in range(100):
        state = arrive(state, f"1 a a{index}")
    state = arrive(state, "1 b b1")
    assert claim_order(state).index("b1") <= 1
    assert queue_position(state, "b1") == 1


def candidates(line: str) -> list[Candidate]:
    """ "ab/0 -/2 c/1": a job asking for adapters a and b passed over 0 times, one asking for none
    passed over twice, one asking for c passed over once."""
    parsed = []
    for word in line.split():
        names, passed = word.split("/")
        parsed.append(Candidate(frozenset(names.strip("-")), int(passed)))
    return parsed


# (the tenant's oldest jobs, the adapters the worker holds, window, max passes, the one it takes)
CHOICES = [
    pytest.param("a/0 b/0", "b", 1, 4, 0, id="window 1 is FIFO"),
    pytest.param("a/0 b/0", "b", 8, 0, 0, id="max passes 0 is FIFO"),
    pytest.param("a/0 b/0", "a", 8, 4, 0, id="the oldest needs no load"),
    pytest.param("a/0 b/0", "b", 8, 4, 1, id="a held one is preferred"),
    pytest.param("a/0 -/0", "", 8, 4, 1, id="a worker holding nothing takes a job needing none"),
    pytest.param("ab/0 a/0 b/0", "a", 8, 4, 1, id="the fewest loads"),
    pytest.param("ab/0 c/0 b/0", "a", 8, 4, 0, id="equal loads: the oldest"),
    pytest.param("a/4 b/0", "b", 8, 4, 0, id="passed over enough: taken"),
    pytest.param("c/0 a/4 b/0", "b", 8, 4, 0, id="never behind a job passed over enough"),
    pytest.param("cd/0 ab/4 b/0", "b", 8, 4, 1, id="the fewest loads up to that job"),
    pytest.param("a/0 a/0 b/0", "b", 2, 4, 0, id="only the window is looked at"),
]


@pytest.mark.parametrize(("line", "held", "window", "max_passes", "expected"), CHOICES)
def test_which_of_the_tenants_oldest_jobs_a_worker_takes(
    line: str, held: str, window: int, max_passes: int, expected: int
) -> None:
    affinity = Affinity(frozenset(held), window, max_passes)
    assert choose(candidates(line), affinity) == expected


def test_a_passed_over_job_waits_at_most_max_passes_claims() -> None:
    """Workers that always hold b keep finding b jobs; the older a job still goes after two."""
    state = QueueState()
    state = enqueue(state, 1, "t", "a1", frozenset("a"))
    for index in range(5):
        state = enqueue(state, 1, "t", f"b{index}", frozenset("b"))
    order = claim_order(state, Affinity(frozenset("b"), window=8, max_passes=2))
    assert order == ["b0", "b1", "a1", "b2", "b3", "b4"]


def test_the_preference_never_crosses_tenants_or_priorities() -> None:
    state = QueueState()
    for line, adapters in [("1 x x1", "a"), ("1 y y1", "b"), ("0 z z1", "a"), ("1 x x2", "b")]:
        priority, tenant, job = line.split()
        state = enqueue(state, int(priority), tenant, job, frozenset(adapters))
    order = claim_order(state, Affinity(frozenset("b"), window=8, max_passes=4))
    assert order == ["z1", "x2", "y1", "x1"]
