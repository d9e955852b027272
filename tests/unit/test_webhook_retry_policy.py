"""What each delivery attempt's result means, and the retry schedule."""

from __future__ import annotations

import random
from typing import Any

import pytest

from webhooks.retry_policy import (
    Outcome,
    Verdict,
    judge_attempt,
    keep_record_s,
    parse_retry_after,
)

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


NOW = 2_000_000_000.0  # Wed, 18 May 2033 03:33:20 GMT


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 120\t", 120.0),  # optional whitespace around the value
        ("0", 0.0),
        ("00012", 12.0),
        ("999999", 86400.0),  # capped at a day
        ("9" * 5000, 86400.0),  # huge: capped, never converted digit by digit
        ("\u00b2", None),  # superscript two: str.isdigit() says yes, float() says no
        ("\u0661\u0662", None),  # Arabic-Indic digits: delta-seconds are ASCII digits only
        ("\uff11\uff12", None),  # fullwidth digits
        ("\u2003120", None),  # a Unicode space is not optional whitespace
        ("-5", None),
        ("+5", None),
        ("1.5", None),
        ("1e9", None),
        ("12 34", None),
        ("soon", None),
        ("\x00", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: now
        ("Wed, 18 May 2033 03:34:20 GMT", 60.0),
        ("Sun, 29 May 2033 17:20:00 GMT", 86400.0),  # over a day away: capped
        ("Fri, 31 Dec 9999 23:59:59 GMT", 86400.0),
        ("Mon, 01 Jan 10000 00:00:00 GMT", None),
        ("Mon, 01 Jan 0001 00:00:00 GMT", 0.0),
        ("Wed, 99 Oct 2015 07:28:00 GMT", None),
        ("Wed, 21 Oct 2015 99:28:00 GMT", None),
        ("Wed, 21 Oct 2015 07:28:00 +9999", None),
        ("Wed, 18 May 2033 03:34:20", 60.0),  # no zone: HTTP dates are GMT
    ],
)
def test_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_retry_after_never_raises_and_takes_only_ascii_digits() -> None:
    digits = [chr(c) for c in range(0x110000) if chr(c).isdigit()]
    assert len(digits) > 100
    for digit in digits:
        for header in (digit, digit * 3, f"1{digit}", f"{digit} GMT"):
            parsed = parse_retry_after(header, now=NOW)
            expected = float(header) if header.isascii() and header.isdigit() else None
            assert parsed == expected, ascii(header)


DEFAULT_SCHEDULE = [5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 10800.0, 21600.0, 43200.0]


@pytest.mark.parametrize(
    ("until_next_s", "attempts_made", "schedule", "jitter", "lease_s", "expected"),
    [
        # just scheduled: every delay at +20 %, one lease per attempt (10) as the margin
        (0.0, 0, DEFAULT_SCHEDULE, 0.2, 60.0, 98_106 + 600),
        (0.0, 0, SCHEDULE, 0.0, 10.0, 155 + 40),
        # after the first failure, 6 s away: the next attempt, then the last two delays
        (6.0, 1, SCHEDULE, 0.0, 10.0, 6 + 150 + 30),
        # the last retry is pending: only it is left
        (125.0, 3, SCHEDULE, 0.5, 10.0, 125 + 10),
        # a Retry-After retry beyond the schedule's attempts: still the next attempt and a lease
        (90.0, 7, SCHEDULE, 0.2, 10.0, 90 + 10),
        (0.4, 0, [0.3], 0.2, 0.1, 1),  # rounded up to whole seconds
    ],
)
def test_a_pending_record_is_kept_until_its_last_possible_attempt(
    until_next_s: float,
    attempts_made: int,
    schedule: list[float],
    jitter: float,
    lease_s: float,
    expected: int,
) -> None:
    keep = keep_record_s(
        until_next_s=until_next_s, attempts_made=attempts_made, schedule_s=schedule,
        jitter=jitter, lease_s=lease_s,
    )  # fmt: skip
    assert keep == expected
