"""Opening Redis from SDQ_REDIS_URL: `redis://`, `rediss://` (TLS) or `redis+sentinel://`.

A Sentinel URL names the sentinels and the master's service name:

    redis+sentinel://[[user]:password@]host1:26379[,host2:26379...]/MASTER[/DB][?sentinel_password=...]

The password is the master's; `sentinel_password` authenticates to the sentinels themselves
(when they require it). Every client asks the sentinels for the current master and follows a
failover. The same URL gives redis-py clients (sync and asyncio) and Celery's broker settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel"
DEFAULT_SENTINEL_PORT = 26379


class RedisUrlError(ValueError):
    """SDQ_REDIS_URL cannot be used; the message says which part and why."""


@dataclass(frozen=True)
class SentinelTarget:
    """Where the sentinels are, which master they watch, and how to authenticate."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None

    def master_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"db": self.db}
        if self.username:
            kwargs["username"] = self.username
        if self.password:
            kwargs["password"] = self.password
        return kwargs

    def sentinel_kwargs(self) -> dict[str, Any] | None:
        return {"password": self.sentinel_password} if self.sentinel_password else None


def parse_sentinel_url(url: str) -> SentinelTarget | None:
    """The Sentinel target a `redis+sentinel://` URL names; None for any other URL."""
    parts = urlsplit(url)
    if parts.scheme == "rediss+sentinel":
        raise RedisUrlError(
            "SDQ_REDIS_URL: TLS to Sentinel is not supported; use rediss:// to one endpoint"
        )
    if parts.scheme != SENTINEL_SCHEME:
        return None
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    sentinels = tuple(_host_port(item) for item in hosts.split(",") if item)
    if not sentinels:
        raise RedisUrlError("SDQ_REDIS_URL: a Sentinel URL needs at least one host:port")
    path = [segment for segment in parts.path.split("/") if segment]
    if not path or len(path) > 2:
        raise RedisUrlError("SDQ_REDIS_URL: a Sentinel URL's path is /MASTER_NAME[/DB]")
    if len(path) == 2 and not path[1].isdigit():
        raise RedisUrlError(f"SDQ_REDIS_URL: database {path[1]!r} is not a number")
    query = parse_qs(parts.query)
    return SentinelTarget(
        sentinels=sentinels,
        master=unquote(path[0]),
        db=int(path[1]) if len(path) == 2 else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
        sentinel_password=query.get("sentinel_password", [None])[0],
    )


def _host_port(item: str) -> tuple[str, int]:
    host, _, port = item.rpartition(":") if ":" in item else (item, "", "")
    if not port:
        return item, DEFAULT_SENTINEL_PORT
    if not port.isdigit():
        raise RedisUrlError(f"SDQ_REDIS_URL: sentinel port {port!r} is not a number")
    return host, int(port)


def sync_redis(url: str, **kwargs: Any) -> redis.Redis:
    """A redis-py client for the URL (for Sentinel: the current master, following failovers)."""
    client: redis.Redis = _open(url, redis.Redis, Sentinel, kwargs)
    return client


def async_redis(url: str, **kwargs: Any) -> aioredis.Redis:
    """The asyncio flavour of `sync_redis`."""
    client: aioredis.Redis = _open(url, aioredis.Redis, AsyncSentinel, kwargs)
    return client


def _open(url: str, plain: Any, sentinel_class: Any, kwargs: dict[str, Any]) -> Any:
    target = parse_sentinel_url(url)
    if target is None:
        return plain.from_url(url, **kwargs)
    sentinel = sentinel_class(
        list(target.sentinels), sentinel_kwargs=target.sentinel_kwargs(), **target.master_kwargs()
    )
    return sentinel.master_for(target.master, **kwargs)


def celery_broker(url: str) -> tuple[str, dict[str, Any]]:
    """Celery's broker URL and extra transport options for the URL (kombu's `sentinel://` form,
    one per sentinel, with the master's name and the sentinels' own password as options)."""
    target = parse_sentinel_url(url)
    if target is None:
        return url, {}
    auth = ""
    if target.password:
        auth = f"{quote(target.username or '', safe='')}:{quote(target.password, safe='')}@"
    broker = ";".join(
        f"sentinel://{auth}{host}:{port}/{target.db}" for host, port in target.sentinels
    )
    options: dict[str, Any] = {"master_name": target.master}
    if target.sentinel_kwargs():
        options["sentinel_kwargs"] = target.sentinel_kwargs()
    return broker, options
