"""Redis outages as the API sees them: which errors mean Redis is unreachable, one log line per
change of state (down since, back after), and the Redis URL fit for a log (passwords masked)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from kombu.exceptions import OperationalError

# redis-py's ConnectionError covers refused connections, Sentinel finding no master and a server
# still loading its data (BusyLoadingError); Celery's producer reports a broker it cannot reach as
# kombu's OperationalError.
UNREACHABLE: tuple[type[Exception], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    OperationalError,
)


def redis_unreachable(error: BaseException) -> bool:
    """Whether the error, or any error an exception group gathers, means Redis is unreachable."""
    if isinstance(error, BaseExceptionGroup):
        return any(redis_unreachable(inner) for inner in error.exceptions)
    return isinstance(error, UNREACHABLE)


def describe(error: BaseException) -> str:
    """`Type: message` of the (first) unreachable error, for one log line."""
    if isinstance(error, BaseExceptionGroup):
        inner = [e for e in error.exceptions if redis_unreachable(e)]
        return describe(inner[0]) if inner else f"{type(error).__name__}: {error}"
    return f"{type(error).__name__}: {error}"


@dataclass
class OutageLog:
    """Turns the outcome of each pass at Redis into at most one log line per change of state."""

    down_since: float | None = None

    def failed(self, now: float, error: BaseException) -> str | None:
        if self.down_since is not None:
            return None
        self.down_since = now
        since = datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"Redis unreachable since {since} ({describe(error)})"

    def succeeded(self, now: float) -> str | None:
        if self.down_since is None:
            return None
        line = f"Redis back after {now - self.down_since:.0f} s"
        self.down_since = None
        return line


def masked_url(url: str) -> str:
    """The URL with its password and any `*password` query value shown as `***`."""
    parts = urlsplit(url)
    credentials, at, hosts = parts.netloc.rpartition("@")
    user, colon, password = credentials.partition(":")
    netloc = f"{user}{colon}{'***' if password else ''}{at}{hosts}"
    query = [
        (name, "***" if "password" in name.lower() else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="*")))
