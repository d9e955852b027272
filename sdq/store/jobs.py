"""The job store: each operation on job records is an `Op` run by a sync or an async Redis executor."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import redis
import redis.asyncio as aioredis

from sdq import keys, store_scripts
from sdq.job import TRANSITIONS, Job, JobMetrics, JobStatus

T = TypeVar("T")

_JSON_FIELDS = {"input", "output", "metrics"}
_CSV_FIELDS = {"webhook_events_filter"}
_FLOAT_FIELDS = {"created_at", "started_at", "completed_at"}


@dataclass(frozen=True)
class Op(Generic[T]):
    """One round trip to Redis: a Lua script (or a plain command) and how to read its reply."""

    keys: tuple[str, ...]
    args: tuple[str, ...]
    decode: Callable[[Any], T]
    script: str | None = None

    @property
    def command(self) -> tuple[str, ...]:
        return self.args


def encode_fields(values: dict[str, Any]) -> list[str]:
    """Flatten record fields to the strings stored in the job hash (None becomes '')."""
    flat: list[str] = []
    for name, value in values.items():
        if name in _JSON_FIELDS:
            text = json.dumps(value.model_dump() if isinstance(value, JobMetrics) else value)
        elif name in _CSV_FIELDS:
            text = ",".join(value)
        elif isinstance(value, bool):
            text = "1" if value else "0"
        elif value is None:
            text = ""
        else:
            text = str(value)
        flat += [name, text]
    return flat


def decode_job(fields: dict[str, str]) -> Job:
    """Read a job hash back into a `Job`."""
    values: dict[str, Any] = {}
    for name, text in fields.items():
        if name in _JSON_FIELDS:
            values[name] = json.loads(text) if text else None
        elif name in _CSV_FIELDS:
            values[name] = [part for part in text.split(",") if part]
        elif name in _FLOAT_FIELDS:
            values[name] = float(text) if text else None
        elif name == "cancel_requested":
            values[name] = text == "1"
        else:
            values[name] = text if text != "" or name in {"logs"} else None
    values = {k: v for k, v in values.items() if v is not None}
    return Job.model_validate(values)


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _job_or_none(raw: dict[str, str]) -> Job | None:
    return decode_job(raw) if raw else None


def _transition_reply(raw: list[Any]) -> Job | None:
    return decode_job(_pairs(raw[1:])) if raw and int(raw[0]) == 1 else None


def create_job(job: Job, retention_s: int) -> Op[bool]:
    record = job.model_dump(exclude={"metrics"}) | {"metrics": job.metrics}
    return Op(
        keys=(
            keys.job(job.id),
            keys.job_events(job.id),
            keys.jobs_index(),
            keys.running_jobs(),
            keys.queued_jobs(job.model),
            keys.scaler_wake(),
        ),
        args=(
            str(retention_s),
            str(int(job.created_at * 1_000_000)),
            json.dumps({"status": job.status.value, "model": job.model}),
            job.model,
            *encode_fields(record),
        ),
        decode=lambda raw: int(raw) == 1,
        script=store_scripts.CREATE,
    )


def get_job(job_id: str) -> Op[Job | None]:
    return Op(keys=(), args=("HGETALL", keys.job(job_id)), decode=_job_or_none)


def transition(
    name: str,
    job_id: str,
    *,
    retention_s: int,
    event: str,
    to: JobStatus | None = None,
    attempt: int | None = None,
    worker_id: str | None = None,
    event_data: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
    webhook_event: str | None = None,
    now: float = 0.0,
) -> Op[Job | None]:
    """Apply the named transition from `job.TRANSITIONS`, fenced by attempt and worker when given.

    The reply is the job after the change, or None when the job was not in a state the
    transition starts from (or the fence did not match): nothing was written then.
    """
    sources, fixed_target = TRANSITIONS[name]
    target = fixed_target or to
    if target is None or (fixed_target is None and not target.is_terminal):
        raise ValueError(f"transition {name!r} needs a terminal target, got {to!r}")
    return Op(
        keys=(
            keys.job(job_id),
            keys.job_events(job_id),
            keys.running_jobs(),
            keys.job_webhooks(job_id),
            keys.webhooks_due(),
            keys.webhooks_wake(),
        ),
        args=(
            ",".join(sorted(s.value for s in sources)),
            target.value,
            "" if attempt is None else str(attempt),
            worker_id if worker_id is not None and name != "claim" else "",
            "1" if name == "claim" else "0",
            str(retention_s),
            event,
            json.dumps(event_data or {}),
            webhook_event or "",
            repr(now),
            keys.QUEUED_PREFIX,
            *encode_fields(fields or {}),
        ),
        decode=_transition_reply,
        script=store_scripts.TRANSITION,
    )


def request_cancel(job_id: str) -> Op[JobStatus | None]:
    """Flag a running job for cancellation; reply with the status the job had (None: unknown)."""
    return Op(
        keys=(keys.job(job_id),),
        args=(),
        decode=lambda raw: JobStatus(raw) if raw else None,
        script=store_scripts.REQUEST_CANCEL,
    )


def append_event(
    job_id: str,
    *,
    attempt: int,
    worker_id: str,
    event: str,
    data: dict[str, Any],
    log_line: str = "",
    webhook_event: str | None = None,
    now: float = 0.0,
    webhook_min_interval_s: float = 0.5,
    retention_s: int = 3600,
) -> Op[bool]:
    """Add an intermediate event of a running attempt; the reply says whether to stop now
    (cancel requested, or this attempt was superseded by recovery). Its webhook, if any, is
    best-effort and sent at most once per `webhook_min_interval_s` per kind."""
    return Op(
        keys=(
            keys.job(job_id),
            keys.job_events(job_id),
            keys.job_webhooks(job_id),
            keys.webhooks_due(),
            keys.webhooks_wake(),
        ),
        args=(
            str(attempt),
            worker_id,
            event,
            json.dumps(data | {"attempt": attempt}, separators=(",", ":")),
            log_line,
            webhook_event or "",
            repr(now),
            repr(webhook_min_interval_s),
            str(retention_s),
        ),
        decode=lambda raw: int(raw) == 1,
        script=store_scripts.PROGRESS,
    )


def cancel_requested(job_id: str) -> Op[bool]:
    return Op(
        keys=(), args=("HGET", keys.job(job_id), "cancel_requested"), decode=lambda r: r == "1"
    )


def running_job_ids() -> Op[set[str]]:
    return Op(keys=(), args=("SMEMBERS", keys.running_jobs()), decode=lambda raw: set(raw))


@dataclass(frozen=True)
class JobPage:
    """One page of jobs, newest first, with the cursor of the next page (None at the end)."""

    jobs: list[Job]
    next_cursor: str | None


def list_jobs(cursor: str | None, limit: int) -> Op[JobPage]:
    """Jobs newest first; `cursor` is the opaque `next_cursor` of the previous page."""
    max_score, _, after_id = (cursor or "+inf:").partition(":")

    def decode(raw: list[Any]) -> JobPage:
        jobs: list[Job] = []
        last = ""
        i = 0
        while i < len(raw):
            score, count = raw[i], int(raw[i + 1])
            fields = _pairs(raw[i + 2 : i + 2 + count])
            jobs.append(decode_job(fields))
            last = f"{score}:{fields['id']}"
            i += 2 + count
        return JobPage(jobs, last if len(jobs) == limit else None)

    return Op(
        keys=(keys.jobs_index(),),
        args=(max_score, after_id, str(limit), keys.job("")),
        decode=decode,
        script=store_scripts.LIST,
    )


class JobStore:
    """Runs ops on a synchronous Redis client (the worker's side)."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._scripts: dict[str, Any] = {}

    def run(self, op: Op[T]) -> T:
        if op.script is None:
            return op.decode(self.redis.execute_command(*op.command))  # type: ignore[no-untyped-call]
        script = self._scripts.get(op.script)
        if script is None:
            script = self._scripts[op.script] = self.redis.register_script(op.script)
        return op.decode(script(keys=list(op.keys), args=list(op.args)))


class AsyncJobStore:
    """Runs ops on an asyncio Redis client (the API's side)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.redis = client
        self._scripts: dict[str, Any] = {}

    async def run(self, op: Op[T]) -> T:
        if op.script is None:
            return op.decode(await self.redis.execute_command(*op.command))  # type: ignore[no-untyped-call]
        script = self._scripts.get(op.script)
        if script is None:
            script = self._scripts[op.script] = self.redis.register_script(op.script)
        return op.decode(await script(keys=list(op.keys), args=list(op.args)))


_DELETE = """
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return 1
"""


def delete_job(job_id: str, model_id: str) -> Op[bool]:
    """Remove every trace of a job (used when an accepted request could not be enqueued)."""
    return Op(
        keys=(
            keys.job(job_id),
            keys.job_events(job_id),
            keys.jobs_index(),
            keys.running_jobs(),
            keys.queued_jobs(model_id),
        ),
        args=(job_id,),
        decode=lambda raw: bool(raw),
        script=_DELETE,
    )


_QUEUED_SUMMARY = """
local count = redis.call('ZCARD', KEYS[1])
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then return {count, false} end
return {count, first[2]}
"""


def queued_summary(model_id: str) -> Op[tuple[int, float | None]]:
    """How many of the model's jobs are queued, and when the oldest of them was created."""
    return Op(
        keys=(keys.queued_jobs(model_id),),
        args=(),
        decode=lambda raw: (int(raw[0]), float(raw[1]) if raw[1] else None),
        script=_QUEUED_SUMMARY,
    )
