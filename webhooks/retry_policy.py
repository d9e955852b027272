"""Pure webhook delivery policy: what an attempt's result means and when to try again."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from enum import StrEnum

MAX_RETRY_AFTER_S = 24 * 3600.0


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GAVE_UP = "gave_up"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str
    retry_in_s: float | None = None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header, capped at a day; None when absent or not understood.

    Never raises, whatever the receiver sent. Delta-seconds are ASCII digits only (RFC 9110):
    `str.isdigit` also accepts '²' or Arabic-Indic digits, which `float` then refuses. An HTTP
    date in the past means now; a date without a zone is GMT.
    """
    if not value:
        return None
    value = value.strip(" \t")
    if value.isascii() and value.isdigit():
        if len(value) > len(str(int(MAX_RETRY_AFTER_S))):
            return MAX_RETRY_AFTER_S
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return min(max(0.0, when.timestamp() - now), MAX_RETRY_AFTER_S)
    except Exception:  # any malformed date (the parser raises several kinds)
        return None


def judge_attempt(
    *,
    attempt: int,
    status_code: int | None,
    error: str | None,
    retry_after_s: float | None,
    best_effort: bool,
    schedule_s: list[float],
    jitter: float,
    rng: random.Random,
) -> Verdict:
    """Attempt `attempt` (1-based) ended with a status code or a transport error: what next?

    2xx: delivered. 410: the receiver wants no more. 429/503 with Retry-After: wait that long.
    Other failures: the schedule's next delay with +-jitter, until the schedule runs out.
    Best-effort (intermediate) events get a single attempt.
    """
    if status_code is not None and 200 <= status_code < 300:
        return Verdict(Outcome.DELIVERED, f"HTTP {status_code}")
    failure = f"HTTP {status_code}" if status_code is not None else (error or "error")
    if status_code == 410:
        return Verdict(Outcome.GAVE_UP, f"{failure}: the receiver asked to stop")
    if best_effort:
        return Verdict(Outcome.GAVE_UP, f"{failure}: best-effort event, not retried")
    if attempt > len(schedule_s):
        return Verdict(Outcome.GAVE_UP, f"{failure}: no retries left after {attempt} attempts")
    if status_code in (429, 503) and retry_after_s is not None:
        return Verdict(
            Outcome.RETRY, f"{failure}: retry after {retry_after_s:.0f} s", retry_after_s
        )
    delay = schedule_s[attempt - 1]
    delay *= 1 + rng.uniform(-jitter, jitter)
    return Verdict(Outcome.RETRY, f"{failure}: retry in {delay:.1f} s", max(0.0, delay))


def keep_record_s(
    *,
    until_next_s: float,
    attempts_made: int,
    schedule_s: list[float],
    jitter: float,
    lease_s: float,
) -> int:
    """How long a pending delivery's record must still live (whole seconds, rounded up): until
    its next attempt, then every later retry of the schedule at its longest jitter, with one lease
    per attempt left as the margin (an attempt lasts less than a lease; a sender that died holds
    its delivery for one lease)."""
    later = schedule_s[attempts_made:]
    attempts_left = 1 + len(later)
    return math.ceil(until_next_s + sum(later) * (1 + jitter) + attempts_left * lease_s)
