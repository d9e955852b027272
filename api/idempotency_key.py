"""The `Idempotency-Key` header: its check, the hash of the request it is bound to, and what a
request finding the key held does next (pure: no I/O)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sdq.inputs import GenerationInput, InvalidField, InvalidInput
from sdq.store.idempotency import KeyClaim

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_CHARS = 255
KEEP_S = 24 * 3600  # how long a key names its job (at most the job retention)
# A request that finds the key held but no job yet waits this long for the job to appear.
WAIT_FOR_JOB_S = 5.0
# A key held this long with no job behind it was left by a process that died mid-submit.
STALE_AFTER_S = 60.0

_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


def check_key(value: str | None) -> str | None:
    """The key as sent (None when absent); 422 naming the header unless it is 1 to 255 visible
    ASCII characters."""
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_KEY_CHARS or not _VISIBLE_ASCII.fullmatch(value):
        message = (
            f"must be 1 to {MAX_KEY_CHARS} visible ASCII characters, without spaces "
            f"(got {len(value)} characters)"
        )
        raise InvalidInput([InvalidField(HEADER, message)])
    return value


def request_hash(request: Mapping[str, Any]) -> str:
    """sha256 of the normalized request as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def key_ttl_s(job_retention_s: int) -> int:
    """A key names its job for 24 h, or as long as the job record is kept if that is shorter
    (so a key never outlives the job it would replay)."""
    return min(KEEP_S, job_retention_s)


def different_request() -> InvalidInput:
    message = (
        "was already used with a different request in the last 24 h; "
        "use a new key for a new request"
    )
    return InvalidInput([InvalidField(HEADER, message)])


class Step(StrEnum):
    """What a request does after asking for its key."""

    CREATE = "create"  # it took the key: create the job
    REPLAY = "replay"  # the key's job exists: answer with it
    MISMATCH = "mismatch"  # the key was used with another request: 422
    WAIT = "wait"  # another request is creating the job right now
    TAKE_OVER = "take_over"  # the key was left behind by a submit that died: free it, retry
    BUSY = "busy"  # still no job after waiting: 409, try again


def next_step(
    claim: KeyClaim, wanted_hash: str, job_exists: bool, now: float, waited_out: bool
) -> Step:
    if claim.taken:
        return Step.CREATE
    if claim.request_hash != wanted_hash:
        return Step.MISMATCH
    if job_exists:
        return Step.REPLAY
    if now - claim.claimed_at > STALE_AFTER_S:
        return Step.TAKE_OVER
    return Step.BUSY if waited_out else Step.WAIT


def input_as_sent(parsed: GenerationInput, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The parsed input (defaults filled in, as stored: no empty `loras`, so the hash of a request
    without adapters is what it was before they existed) with the seed as sent: None when the API
    picks one, so that a repeat without a seed is the same request."""
    seed = parsed.seed if raw.get("seed") is not None else None
    return parsed.stored() | {"seed": seed}
