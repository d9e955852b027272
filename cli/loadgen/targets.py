"""Which API a bench URL speaks (from its path alone), where that API's root is, and the model the
path names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit


class Dialect(StrEnum):
    NATIVE = "native"
    A1111 = "a1111"
    OPENAI = "openai"


@dataclass(frozen=True)
class Target:
    """A create endpoint: its URL, dialect, the root its other routes hang from (`base_url`,
    with any path prefix a proxy adds), and the model its path names (None: the body's)."""

    url: str
    dialect: Dialect
    base_url: str
    model: str | None = None


# The create endpoints, each with the path before it (a prefix behind a proxy) as `base`.
ROUTES = (
    (re.compile(r"^(?P<base>.*)/v1/models/(?P<owner>[^/]+)/(?P<name>[^/]+)/predictions/?$"),
     Dialect.NATIVE),
    (re.compile(r"^(?P<base>.*)/v1/predictions/?$"), Dialect.NATIVE),
    (re.compile(r"^(?P<base>.*)/sdapi/v1/txt2img/?$"), Dialect.A1111),
    (re.compile(r"^(?P<base>.*)/v1/images/generations/?$"), Dialect.OPENAI),
)  # fmt: skip

ACCEPTED = (
    "/v1/predictions, /v1/models/OWNER/NAME/predictions (native), "
    "/sdapi/v1/txt2img (AUTOMATIC1111), /v1/images/generations (OpenAI)"
)


class UnsupportedUrl(ValueError):
    """The URL is no create endpoint sdq bench knows."""


def detect(url: str) -> Target:
    """The target `url` names, or UnsupportedUrl saying which paths are accepted."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsupportedUrl(f"{url!r} is not an http(s) URL with a host")
    for pattern, dialect in ROUTES:
        match = pattern.match(parts.path)
        if match is None:
            continue
        base = f"{parts.scheme}://{parts.netloc}{match['base']}"
        named = match.groupdict()
        model = f"{named['owner']}/{named['name']}" if "owner" in named else None
        return Target(url=url, dialect=dialect, base_url=base, model=model)
    raise UnsupportedUrl(f"{parts.path or '/'} is no create endpoint; use one of: {ACCEPTED}")
