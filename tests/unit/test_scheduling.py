"""Which job a free worker takes next: priority first, then the tenant served least recently,
FIFO within a tenant; and a queued job's position in that order."""

from __future__ import annotations

import pytest

from sdq.scheduling import QueueState, claim_order, enqueue, next_job, queue_position

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
