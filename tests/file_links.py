"""Signed `/v1/files` links made in tests with the API's own secret (read from Redis as the API
reads it), for files the API does not hand out links to, and for expired or forged ones."""

from __future__ import annotations

import time
from typing import Any

import redis

from sdq.signed_links import LinkSigner
from sdq.store.link_secret import read_or_create_link_secret
from sdq.store.ops import OpRunner


def link_secret(redis_url: str) -> bytes:
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        return OpRunner(client).run(read_or_create_link_secret())


def signed_file_path(redis_url: str, key: str, ttl_s: int = 3600, now: float | None = None) -> str:
    """`/v1/files/{key}?exp=…&sig=…`, handed out at `now` (default: now) for `ttl_s` seconds."""
    signer = LinkSigner(link_secret(redis_url), ttl_s)
    return f"/v1/files/{key}?{signer.query(key, time.time() if now is None else now)}"


def unsigned(prediction: dict[str, Any]) -> dict[str, Any]:
    """The prediction with its output links' query (expiry and signature) left off: what two
    answers about the same prediction share when they were handed out at different times."""
    output = prediction.get("output")
    if not output:
        return prediction
    return prediction | {"output": [url.split("?", 1)[0] for url in output]}
