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
_UNKNOWN = lua("files_note_orphan.lua")


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


def unknown_job(job_id: str) -> Op[bool]:
    """Whether files found in storage belong to a job neither indexed nor recorded."""
    return Op(
        keys=(keys.job_files(), keys.job(job_id)),
        args=(job_id,),
        decode=lambda raw: int(raw) == 1,
        script=_UNKNOWN,
    )


def note_orphan(job_id: str, due_at: float) -> Op[int]:
    """Index an unknown job's files, due at `due_at` (an entry already there is kept)."""
    return Op(keys=(), args=("ZADD", keys.job_files(), "NX", str(due_at), job_id), decode=int)


def orphan_due_at(written_at: float, now: float, retention_s: float) -> float:
    """When an unknown job's files may go: as late as a record written with its newest file
    would have expired, and never sooner than the grace from now (pure)."""
    return max(now + NOTE_GRACE_S, written_at + retention_s)
