"""What each delivery attempt's result means, and the retry schedule."""

from __future__ import annotations

import random
from typing import Any

import pytest

from webhooks.retry_policy import Outcome, Verdict, judge_attempt, parse_retry_after

SCHEDULE = [5.0, 30.0, 120.0]


def judge(
    attempt: int = 1,
    status: int | None = None,
    error: str | None = None,
    *,
    retry_after_s: float | None = None,
    best_effort: bool = False,
) -> Verdict:
    return judge_attempt(
        attempt=attempt, status_code=status, error=error, retry_after_s=retry_after_s,
        best_effort=best_effort, schedule_s=SCHEDULE, jitter=0.0, rng=random.Random(1),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("attempt", "status", "error", "extra", "outcome", "retry_in"),
    [
        (1, 200, None, {}, Outcome.DELIVERED, None),
        (1, 204, None, {}, Outcome.DELIVERED, None),
        (1, 410, None, {}, Outcome.GAVE_UP, None),
        (1, 500, None, {}, Outcome.RETRY, 5.0),
        (2, 500, None, {}, Outcome.RETRY, 30.0),
        (3, None, "ConnectError", {}, Outcome.RETRY, 120.0),
        (4, 500, None, {}, Outcome.GAVE_UP, None),
        (1, 302, None, {}, Outcome.RETRY, 5.0),  # redirects are not followed: a failure
        (1, 429, None, {"retry_after_s": 90.0}, Outcome.RETRY, 90.0),
        (1, 503, None, {"retry_after_s": 7.0}, Outcome.RETRY, 7.0),
        (1, 429, None, {}, Outcome.RETRY, 5.0),
        (1, 500, None, {"retry_after_s": 90.0}, Outcome.RETRY, 5.0),
        (1, 500, None, {"best_effort": True}, Outcome.GAVE_UP, None),
        (1, 200, None, {"best_effort": True}, Outcome.DELIVERED, None),
    ],
)
def test_verdicts(
    attempt: int,
    status: int | None,
    error: str | None,
    extra: dict[str, Any],
    outcome: Outcome,
    retry_in: float | None,
) -> None:
    verdict = judge(attempt, status, error, **extra)
    assert verdict.outcome is outcome
    assert verdict.retry_in_s == retry_in


def test_jitter_stays_within_its_band() -> None:
    delays: list[float | None] = []
    rng = random.Random(7)
    for _ in range(200):
        verdict = judge_attempt(
            attempt=2, status_code=500, error=None, retry_after_s=None, best_effort=False,
            schedule_s=SCHEDULE, jitter=0.2, rng=rng,
        )  # fmt: skip
        delays.append(verdict.retry_in_s)
    assert all(d is not None and 24.0 <= d <= 36.0 for d in delays)
    assert len(set(delays)) > 100


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("", None), ("120", 120.0), ("999999", 86400.0), ("soon", None),
     ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)  # fmt: skip
def test_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=2_000_000_000.0) == expected
