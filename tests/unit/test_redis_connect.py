"""Reading SDQ_REDIS_URL: plain, TLS and Sentinel URLs, for redis-py and for Celery's broker."""

from __future__ import annotations

import pytest

from sdq.redis_connect import RedisUrlError, SentinelTarget, celery_broker, parse_sentinel_url


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("redis://localhost:6379/0", None),
        ("rediss://:pw@redis.example.com:6380/0", None),
        (
            "redis+sentinel://s1:26379,s2:26380/mymaster",
            SentinelTarget(sentinels=(("s1", 26379), ("s2", 26380)), master="mymaster"),
        ),
        (
            "redis+sentinel://:p%40ss@s1/mymaster/2",
            SentinelTarget(sentinels=(("s1", 26379),), master="mymaster", db=2, password="p@ss"),
        ),
        (
            "redis+sentinel://app:pw@s1:26379/m/1?sentinel_password=spw",
            SentinelTarget(
                sentinels=(("s1", 26379),), master="m", db=1, username="app", password="pw",
                sentinel_password="spw",
            ),
        ),
    ],
)  # fmt: skip
def test_parse(url: str, target: SentinelTarget | None) -> None:
    assert parse_sentinel_url(url) == target


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+sentinel://s1:26379", "path is /MASTER_NAME[/DB]"),
        ("redis+sentinel://s1:26379/m/x", "database 'x' is not a number"),
        ("redis+sentinel://s1:port/m", "sentinel port 'port' is not a number"),
        ("redis+sentinel:///m", "at least one host:port"),
        ("rediss+sentinel://s1/m", "TLS to Sentinel is not supported"),
    ],
)
def test_refusals_name_the_part(url: str, message: str) -> None:
    with pytest.raises(RedisUrlError, match="SDQ_REDIS_URL") as error:
        parse_sentinel_url(url)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("url", "broker", "options"),
    [
        ("redis://h:6379/0", "redis://h:6379/0", {}),
        (
            "redis+sentinel://:p%2Fw@s1:1,s2:2/m/3?sentinel_password=x",
            "sentinel://:p%2Fw@s1:1/3;sentinel://:p%2Fw@s2:2/3",
            {"master_name": "m", "sentinel_kwargs": {"password": "x"}},
        ),
        ("redis+sentinel://s1/m", "sentinel://s1:26379/0", {"master_name": "m"}),
    ],
)
def test_celery_broker(url: str, broker: str, options: dict[str, object]) -> None:
    assert celery_broker(url) == (broker, options)
