"""The worker's broker watch: when the broker counts as down or stalled, when the worker exits, and
when queued jobs count as having lost their message."""

from __future__ import annotations

import pytest

from sdq.settings import Settings
from sdq.store.heartbeats import BrokerState
from worker.broker_watch import Bounds, Observation, Verdict, judge
from worker.redelivery import orphans_since

BOUNDS = Bounds(down_exit_s=60, stall_exit_s=40, orphan_after_s=30)
OK = Verdict()
NOW = 1000.0


def seen(
    reachable: bool = True, waiting: int = 0, holding: bool = False, lost: bool = False
) -> Observation:
    return Observation(reachable=reachable, waiting=waiting, holding=holding, lost_delivery=lost)


@pytest.mark.parametrize(
    ("name", "previous", "observation", "state", "since", "exits"),
    [
        ("idle, nothing waits", OK, seen(), BrokerState.OK, None, None),
        ("busy while work waits", OK, seen(waiting=5, holding=True), BrokerState.OK, None, None),
        ("Redis stops answering", OK, seen(reachable=False), BrokerState.DOWN, NOW, None),
        (
            "down, within the bound",
            Verdict(BrokerState.DOWN, NOW - 59),
            seen(reachable=False),
            BrokerState.DOWN,
            NOW - 59,
            None,
        ),
        (
            "down for the bound",
            Verdict(BrokerState.DOWN, NOW - 60),
            seen(reachable=False),
            BrokerState.DOWN,
            NOW - 60,
            "Redis unreachable for 60 s",
        ),
        (
            "back after an outage",
            Verdict(BrokerState.DOWN, NOW - 30),
            seen(),
            BrokerState.OK,
            None,
            None,
        ),
        ("work waits, none taken", OK, seen(waiting=3), BrokerState.STALLED, NOW, None),
        (
            "stalled, within the bound",
            Verdict(BrokerState.STALLED, NOW - 39),
            seen(waiting=3),
            BrokerState.STALLED,
            NOW - 39,
            None,
        ),
        (
            "stalled for the bound",
            Verdict(BrokerState.STALLED, NOW - 40),
            seen(waiting=3),
            BrokerState.STALLED,
            NOW - 40,
            "3 job(s) waiting for 40 s while this worker takes none",
        ),
        (
            "a stall ends with a fetch",
            Verdict(BrokerState.STALLED, NOW - 39),
            seen(waiting=2, holding=True),
            BrokerState.OK,
            None,
            None,
        ),
        (
            "stalled after being down: a new clock",
            Verdict(BrokerState.DOWN, NOW - 59),
            seen(waiting=3),
            BrokerState.STALLED,
            NOW,
            None,
        ),
        (
            "a lost delivery while Redis is down: wait for it",
            Verdict(BrokerState.DOWN, NOW - 5),
            seen(reachable=False, lost=True),
            BrokerState.DOWN,
            NOW - 5,
            None,
        ),
        (
            "a lost delivery once Redis answers: exit at once",
            Verdict(BrokerState.DOWN, NOW - 5),
            seen(lost=True),
            BrokerState.OK,
            None,
            "a job's outcome could not be written while Redis was unreachable",
        ),
        (
            "a lost delivery, still down past the bound",
            Verdict(BrokerState.DOWN, NOW - 60),
            seen(reachable=False, lost=True),
            BrokerState.DOWN,
            NOW - 60,
            "Redis unreachable for 60 s",
        ),
    ],
)
def test_judge(
    name: str,
    previous: Verdict,
    observation: Observation,
    state: BrokerState,
    since: float | None,
    exits: str | None,
) -> None:
    verdict = judge(previous, observation, NOW, BOUNDS)
    assert (verdict.state, verdict.since, verdict.exit_reason) == (state, since, exits), name


def test_bounds_follow_the_heartbeat_ttl_and_outlast_celerys_reconnect_interval() -> None:
    bounds = Bounds.from_settings(Settings(heartbeat_interval_s=2, heartbeat_ttl_s=10))
    assert bounds == Bounds(down_exit_s=60, stall_exit_s=40, orphan_after_s=30)
    assert (
        Bounds.from_settings(Settings(heartbeat_interval_s=1, heartbeat_ttl_s=4)).stall_exit_s > 30
    )


@pytest.mark.parametrize(
    ("name", "previous", "holding", "waiting", "queued", "since"),
    [
        ("nothing queued", None, False, 0, 0, None),
        ("queued jobs have messages waiting", None, False, 4, 4, None),
        ("this worker holds one (fetched, not yet claimed)", None, True, 0, 1, None),
        ("queued, no message, idle: starts now", None, False, 0, 2, NOW),
        ("still so: keeps its start", NOW - 20, False, 0, 2, NOW - 20),
        ("a message appears: over", NOW - 20, False, 1, 2, None),
        ("the queue drains: over", NOW - 20, False, 0, 0, None),
    ],
)
def test_orphans_since(
    name: str,
    previous: float | None,
    holding: bool,
    waiting: int,
    queued: int,
    since: float | None,
) -> None:
    found = orphans_since(previous, holding=holding, waiting=waiting, queued=queued, now=NOW)
    assert found == since, name
