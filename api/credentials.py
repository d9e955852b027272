"""Reading the key a request carries from its Authorization header (no I/O)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from sdq.api_keys import KEY_ALPHABET

MAX_HEADER_CHARS = 1024
_TOKEN = re.compile(f"[{KEY_ALPHABET}]{{1,512}}")


@dataclass(frozen=True)
class Credential:
    """The key sent, or why none could be read (`problem` then says so, without the secret)."""

    key: str | None
    problem: str | None = None


def read_credential(authorization: str | None, *, allow_basic: bool) -> Credential:
    """`Bearer KEY` (and Replicate's `Token KEY`); with `allow_basic`, HTTP Basic with the key
    as the password (the user name is ignored), as AUTOMATIC1111's `--api-auth` clients send."""
    if authorization is None or not authorization.strip():
        return Credential(None, "no API key: send `Authorization: Bearer <key>`")
    if len(authorization) > MAX_HEADER_CHARS:
        return Credential(None, f"the Authorization header is over {MAX_HEADER_CHARS} characters")
    scheme, _, value = authorization.strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme in ("bearer", "token"):
        key = value
    elif scheme == "basic" and allow_basic:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):  # binascii.Error, and non-ASCII input
            return Credential(None, "the Basic credentials are not base64 of `user:key`")
        key = decoded.partition(":")[2]
    else:
        allowed = "Bearer, Token or Basic" if allow_basic else "Bearer or Token"
        return Credential(None, f"unsupported Authorization scheme (use {allowed})")
    if not _TOKEN.fullmatch(key):
        return Credential(None, "the API key is empty or has characters no key has")
    return Credential(key)
