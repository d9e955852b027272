"""`sdq bench`'s plan, as tables: durations, the options' limits, when a closed loop stops and
the open loop's Poisson arrivals."""

from __future__ import annotations

import statistics
from itertools import islice, pairwise

import pytest

from cli.loadgen.plan import Plan, make_plan, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30", 30.0), ("30s", 30.0), ("1.5m", 90.0), ("1h", 3600.0), ("500ms", 0.5), (".5", 0.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-1s", "10 days", "1e3", "0", "0s"])
def test_durations_that_are_none(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("args", "plan"),
    [
        ((None, 5, None, None), Plan(50, 5)),  # hey's seed scenario by default
        ((10, 2, None, None), Plan(10, 2)),
        ((None, 5, None, 30.0), Plan(None, 5, duration_s=30.0)),
        ((100, 5, None, 30.0), Plan(100, 5, duration_s=30.0)),
        ((None, 5, 2.0, 10.0), Plan(None, 5, rate=2.0, duration_s=10.0)),
        ((3, 5, 2.0, None), Plan(3, 5, rate=2.0)),  # open loop: -c plays no part
    ],
)
def test_plans(args: tuple[int | None, int, float | None, float | None], plan: Plan) -> None:
    assert make_plan(*args) == plan


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((0, 1, None, None), "-n must be at least 1"),
        ((10, 0, None, None), "-c must be at least 1"),
        ((3, 5, None, None), "-c (5) must not exceed -n (3)"),
        ((10, 1, 0.0, None), "--rate must be more than 0"),
    ],
)
def test_options_out_of_range_are_named(
    args: tuple[int | None, int, float | None, float | None], says: str
) -> None:
    with pytest.raises(ValueError) as refused:
        make_plan(*args)
    assert says in str(refused.value)


@pytest.mark.parametrize(
    ("plan", "sent", "elapsed_s", "allowed"),
    [
        (Plan(50, 5), 49, 999.0, True),
        (Plan(50, 5), 50, 0.0, False),
        (Plan(None, 5, duration_s=10.0), 10_000, 9.9, True),
        (Plan(None, 5, duration_s=10.0), 0, 10.0, False),
        (Plan(50, 5, duration_s=10.0), 50, 1.0, False),  # whichever comes first
        (Plan(50, 5, duration_s=10.0), 3, 10.5, False),
    ],
)
def test_when_another_request_may_go(
    plan: Plan, sent: int, elapsed_s: float, allowed: bool
) -> None:
    assert plan.allows(sent, elapsed_s) is allowed


def test_open_loop_arrivals_stop_at_the_count() -> None:
    arrivals = list(Plan(7, 1, rate=100.0).arrivals())
    assert len(arrivals) == 7 and arrivals == sorted(arrivals) and arrivals[0] > 0


def test_open_loop_arrivals_stop_at_the_duration_and_keep_the_rate() -> None:
    arrivals = list(Plan(None, 1, rate=50.0, duration_s=20.0).arrivals())
    assert arrivals[-1] < 20.0
    assert 900 < len(arrivals) < 1100  # 1000 expected
    gaps = [b - a for a, b in pairwise(arrivals)]
    assert statistics.fmean(gaps) == pytest.approx(1 / 50, rel=0.1)
    assert statistics.stdev(gaps) == pytest.approx(1 / 50, rel=0.15)  # exponential: sd = mean


def test_open_loop_arrivals_repeat_with_their_seed() -> None:
    def first(seed: int) -> list[float]:
        return list(islice(Plan(None, 1, rate=3.0, duration_s=60.0, seed=seed).arrivals(), 5))

    assert first(1) == first(1) != first(2)


@pytest.mark.parametrize(
    ("plan", "described"),
    [
        (Plan(50, 5), "50 requests, 5 clients (closed loop)"),
        (Plan(6, 1), "6 requests, 1 client (closed loop)"),
        (Plan(None, 2, rate=0.5, duration_s=30.0), "30 s, Poisson arrivals at 0.5/s (open loop)"),
        (Plan(100, 5, duration_s=10.0), "100 requests or 10 s, 5 clients (closed loop)"),
    ],
)
def test_plans_describe_themselves(plan: Plan, described: str) -> None:
    assert plan.describe() == described
