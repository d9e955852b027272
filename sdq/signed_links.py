"""Signed, expiring `/v1/files` links: the HMAC over an output key and its expiry, and its check
(pure: the secret and the time are passed in)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlencode

# Expiries are rounded up to a whole minute, so a prediction polled a few times in a minute keeps
# the same links (and a browser its cached image); a link still lasts at least the TTL.
EXPIRY_GRAIN_S = 60

_EXP = re.compile(r"^[0-9]{1,12}$")
_SIG = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 bytes, URL-safe base64 without padding


class LinkCheck(Enum):
    """What checking a link's `exp` and `sig` found."""

    VALID = "valid"
    MISSING = "the link has no signature (exp and sig)"
    MALFORMED = "the link's exp or sig is malformed"
    FORGED = "the link's signature does not match"
    EXPIRED = "the link has expired"


def signature(secret: bytes, key: str, expires_at: int) -> str:
    """HMAC-SHA256 over the key and the expiry, URL-safe base64 without padding."""
    message = f"sdq-file\n{key}\n{expires_at}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def check_link(secret: bytes, key: str, exp: str | None, sig: str | None, now: float) -> LinkCheck:
    """Whether `exp` and `sig` from a link's query sign `key` and have not expired at `now`.
    The signature is compared in constant time; expiry is judged only on a genuine signature."""
    if exp is None or sig is None:
        return LinkCheck.MISSING
    if not _EXP.match(exp) or not _SIG.match(sig):
        return LinkCheck.MALFORMED
    if not hmac.compare_digest(sig, signature(secret, key, int(exp))):
        return LinkCheck.FORGED
    if int(exp) <= now:
        return LinkCheck.EXPIRED
    return LinkCheck.VALID


@dataclass(frozen=True)
class LinkSigner:
    """Signs links with one secret for `ttl_s` seconds from when they are handed out."""

    secret: bytes
    ttl_s: int

    def expiry(self, now: float) -> int:
        """Unix seconds when a link handed out at `now` stops working (at least `ttl_s` away)."""
        return math.ceil((now + self.ttl_s) / EXPIRY_GRAIN_S) * EXPIRY_GRAIN_S

    def query(self, key: str, now: float) -> str:
        """The `exp=…&sig=…` query string of the key's link handed out at `now`."""
        expires_at = self.expiry(now)
        return urlencode({"exp": expires_at, "sig": signature(self.secret, key, expires_at)})
