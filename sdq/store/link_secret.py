"""The key that signs `/v1/files` links: the configured one, else a random one shared in Redis
(created by whichever process needs it first), held per process and re-read now and then."""

from __future__ import annotations

import secrets

from sdq.settings import Settings
from sdq.store import redis_keys as keys
from sdq.store.ops import Op

# A process re-reads the shared secret this often, so that it heals after Redis lost it.
REFRESH_S = 60.0
# ...and at most this often when a link does not verify (it may be newer than its copy).
RECHECK_S = 1.0

_READ_OR_CREATE = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
"""


def read_or_create_link_secret() -> Op[bytes]:
    """The shared secret; a new random one is stored first if there is none (atomically)."""
    return Op(
        keys=(keys.link_secret(),),
        args=(secrets.token_urlsafe(32),),
        decode=lambda raw: raw.encode() if isinstance(raw, str) else bytes(raw),
        script=_READ_OR_CREATE,
    )


class LinkSecret:
    """One process's copy of the link secret (time is passed in, monotonic seconds): `held`
    answers without Redis while the copy is fresh; `keep` stores what Redis said."""

    def __init__(self, settings: Settings) -> None:
        configured = settings.link_secret
        self.configured = configured.get_secret_value().encode() if configured else None
        self.value: bytes | None = None
        self.read_at = float("-inf")

    def held(self, now: float) -> bytes | None:
        """The secret, or None when Redis must be asked (no copy, or one older than REFRESH_S)."""
        if self.configured is not None:
            return self.configured
        return self.value if now - self.read_at < REFRESH_S else None

    def keep(self, value: bytes, now: float) -> bytes:
        self.value, self.read_at = value, now
        return value

    def may_recheck(self, now: float) -> bool:
        """Whether a link that failed to verify is worth a re-read (only a shared secret can be
        stale, and re-reads on failures are rate-limited)."""
        return self.configured is None and now - self.read_at >= RECHECK_S
