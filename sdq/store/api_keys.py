"""API keys in Redis: create, look up by the secret's hash, list, revoke, last-used times."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

from sdq.api_keys import ApiKey
from sdq.store import redis_keys as keys
from sdq.store.ops import Op, lua

_CREATE = lua("api_keys_create.lua")
_REVOKE = lua("api_keys_revoke.lua")
# Only keys that still exist: a revoked key's last request must not leave a record behind.
_TOUCH = """
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    n = n + 1
  end
end
return n
"""


def _record(key: ApiKey, hash_: str) -> str:
    return json.dumps(key.model_dump(mode="json", exclude={"last_used_at"}) | {"hash": hash_})


def _key_of(raw: str | bytes) -> ApiKey:
    record: dict[str, Any] = json.loads(raw)
    record.pop("hash", None)
    return ApiKey.model_validate(record)


class Created(Enum):
    STORED = 1
    TAKEN = 0  # the id or the secret's hash exists: nothing written
    OTHER_ROLE = -1  # keys of this name have another role: nothing written


def create_key(key: ApiKey, hash_: str) -> Op[Created]:
    """Store the key, unless its id or hash is taken or its name has keys of another role."""
    return Op(
        keys=(keys.api_keys(), keys.api_key_by_hash(hash_)),
        args=(key.id, _record(key, hash_), key.name, key.role.value),
        decode=lambda raw: Created(int(raw)),
        script=_CREATE,
    )


def find_key(hash_: str) -> Op[ApiKey | None]:
    """The key whose secret has this hash (one GET), None when there is none (or it was revoked)."""
    return Op(
        keys=(),
        args=("GET", keys.api_key_by_hash(hash_)),
        decode=lambda raw: _key_of(raw) if raw else None,
    )


def list_keys() -> Op[list[ApiKey]]:
    """Every key, oldest first, with when each last authenticated a request."""

    def decode(raw: list[Any]) -> list[ApiKey]:
        records, used = raw
        last_used = dict(zip(used[::2], used[1::2], strict=True))
        listed = []
        for record in records:
            key = _key_of(record)
            seen = last_used.get(key.id)
            listed.append(key.model_copy(update={"last_used_at": float(seen) if seen else None}))
        return sorted(listed, key=lambda k: (k.created_at, k.id))

    return Op(
        keys=(keys.api_keys(), keys.api_keys_last_used()),
        args=(),
        decode=decode,
        script="return {redis.call('HVALS', KEYS[1]), redis.call('HGETALL', KEYS[2])}",
    )


def revoke_key(key_id: str) -> Op[ApiKey | None]:
    """Remove the key at once (its next request is refused); the revoked key, None if unknown."""
    return Op(
        keys=(keys.api_keys(), keys.api_keys_last_used()),
        args=(key_id, keys.api_key_by_hash("")),
        decode=lambda raw: _key_of(raw) if raw else None,
        script=_REVOKE,
    )


def touch_keys(used: dict[str, float]) -> Op[int]:
    """Record when keys last authenticated a request (the API batches these)."""
    flat = [part for key_id, at in used.items() for part in (key_id, repr(at))]
    return Op(
        keys=(keys.api_keys(), keys.api_keys_last_used()),
        args=tuple(flat),
        decode=int,
        script=_TOUCH,
    )
