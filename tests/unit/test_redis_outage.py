"""Telling Redis outages apart from other errors, logging one line per change of state, and naming
the Redis reached without its password."""

from __future__ import annotations

import pytest
import redis
from kombu.exceptions import OperationalError

from api.redis_outage import OutageLog, masked_url, redis_unreachable


@pytest.mark.parametrize(
    ("error", "unreachable"),
    [
        (redis.ConnectionError("refused"), True),
        (redis.TimeoutError("timed out"), True),
        (redis.exceptions.BusyLoadingError("loading"), True),
        (OperationalError("broker down"), True),
        (ExceptionGroup("stream", [ValueError("x"), redis.ConnectionError("gone")]), True),
        (ExceptionGroup("outer", [ExceptionGroup("inner", [redis.TimeoutError()])]), True),
        (redis.ResponseError("WRONGTYPE"), False),
        (ValueError("x"), False),
        (ExceptionGroup("stream", [ValueError("x")]), False),
    ],
)
def test_which_errors_mean_redis_is_unreachable(error: Exception, unreachable: bool) -> None:
    assert redis_unreachable(error) is unreachable


def test_one_line_when_it_goes_none_while_it_stays_down_one_when_it_is_back() -> None:
    outage = OutageLog()
    assert outage.succeeded(now=100.0) is None
    down = outage.failed(now=1_700_000_000.0, error=redis.ConnectionError("refused"))
    assert down is not None
    assert down.startswith("Redis unreachable since 2023-11-14T22:13:20Z")
    assert "ConnectionError: refused" in down
    assert outage.failed(now=1_700_000_003.0, error=redis.ConnectionError("refused")) is None
    assert outage.failed(now=1_700_000_006.0, error=redis.TimeoutError("slow")) is None
    assert outage.succeeded(now=1_700_000_007.4) == "Redis back after 7 s"
    assert outage.succeeded(now=1_700_000_010.0) is None
    assert outage.failed(now=1_700_000_020.0, error=redis.ConnectionError("again")) is not None


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:s3cret@redis:6379/0", "redis://:***@redis:6379/0"),
        ("rediss://user:s3cret@redis:6380", "rediss://user:***@redis:6380"),
        ("redis://user@redis:6379/0", "redis://user@redis:6379/0"),
        (
            "redis+sentinel://:pw@s1:26379,s2:26379/mymaster/0?sentinel_password=spw",
            "redis+sentinel://:***@s1:26379,s2:26379/mymaster/0?sentinel_password=***",
        ),
    ],
)
def test_the_url_is_shown_without_passwords(url: str, shown: str) -> None:
    assert masked_url(url) == shown
