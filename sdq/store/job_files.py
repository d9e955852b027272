"""The index of jobs that have files in storage, so that the files go when the job record does:
noted before any file is written, swept once the record has expired (safe on every replica)."""

from __future__ import annotations

from sdq.store import redis_keys as keys
from sdq.store.ops import Op, lua

# A job's files are looked at no sooner than this after they are noted: the time between a
# file written and its job record created (the API stores a starting image just before).
NOTE_GRACE_S = 300.0
# A sweeper that took a job and died is replaced after this long.
SWEEP_LEASE_S = 300.0

_DUE = lua("files_due.lua")
_NOTE_ORPHAN = lua("files_note_orphan.lua")


def note_files(job_id: str, now: float) -> Op[int]:
    """Before writing a job's first file: remove its files once its record is gone (checked from
    `now + NOTE_GRACE_S` on; an earlier check already due is kept)."""
    return Op(
        keys=(),
        args=("ZADD", keys.job_files(), "NX", str(now + NOTE_GRACE_S), job_id),
        decode=int,
    )


def due_files(now: float, most: int) -> Op[list[str]]:
    """Job ids whose records are gone and whose files are now this caller's to remove, leased
    for `SWEEP_LEASE_S`; report each with `files_removed`."""
    return Op(
        keys=(keys.job_files(),),
        args=(str(now), str(SWEEP_LEASE_S), str(most), keys.job("")),
        decode=lambda raw: [str(job_id) for job_id in raw],
        script=_DUE,
    )


def files_removed(job_id: str) -> Op[int]:
    return Op(keys=(), args=("ZREM", keys.job_files(), job_id), decode=int)


def note_orphan(job_id: str, now: float) -> Op[bool]:
    """Index files found in storage for a job neither indexed nor recorded (due after the grace:
    a record may be about to be written)."""
    return Op(
        keys=(keys.job_files(), keys.job(job_id)),
        args=(str(now + NOTE_GRACE_S), job_id),
        decode=lambda raw: int(raw) == 1,
        script=_NOTE_ORPHAN,
    )
