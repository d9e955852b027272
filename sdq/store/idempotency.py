"""Idempotency keys: which job a tenant's key made, taken atomically before the job exists."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sdq.store import redis_keys as keys
from sdq.store.ops import Op, lua

_CLAIM = lua("idempotency_claim.lua")
_RELEASE = lua("idempotency_release.lua")


@dataclass(frozen=True)
class KeyClaim:
    """The record that holds a key: `taken` when this call took it for `job_id`."""

    taken: bool
    job_id: str
    request_hash: str
    claimed_at: float


def key_digest(key: str) -> str:
    """The key as Redis sees it: its sha256, so a key's characters never shape a Redis key."""
    return hashlib.sha256(key.encode()).hexdigest()


def claim_key(
    tenant: str, key: str, job_id: str, request_hash: str, *, now: float, ttl_s: int
) -> Op[KeyClaim]:
    """Take `key` for `job_id` unless the tenant's key is held; the reply is the holder."""

    def decode(raw: list[Any]) -> KeyClaim:
        return KeyClaim(int(raw[0]) == 1, str(raw[1]), str(raw[2]), float(raw[3]))

    return Op(
        keys=(keys.idempotency(tenant, key_digest(key)),),
        args=(job_id, request_hash, repr(now), str(ttl_s)),
        decode=decode,
        script=_CLAIM,
    )


def release_key(tenant: str, key: str, job_id: str) -> Op[bool]:
    """Free the key if it still names `job_id` (its submit failed, or its job is gone)."""
    return Op(
        keys=(keys.idempotency(tenant, key_digest(key)),),
        args=(job_id,),
        decode=lambda raw: int(raw) == 1,
        script=_RELEASE,
    )
