"""Job records: create, read, list, the transitions tabled in `sdq.job`, progress events, cancel."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from sdq.job import (
    TERMINAL_STATUSES,
    TRANSITIONS,
    EventType,
    Job,
    JobStatus,
    Transition,
    WebhookEvent,
)
from sdq.scheduling import DEFAULT_PRIORITY, FIFO, PRIORITIES, Affinity
from sdq.store import redis_keys as keys
from sdq.store.codec import decode_job, encode_fields, pairs
from sdq.store.job_files import NOTE_GRACE_S
from sdq.store.ops import Op, lua


def _lua_set(statuses: frozenset[JobStatus]) -> str:
    return "{" + ", ".join(f"{status.value} = true" for status in sorted(statuses)) + "}"


def _lua_rules() -> str:
    """The transition table of `sdq.job` as Lua tables, prepended to the transition script."""
    rules = []
    for name, rule in TRANSITIONS.items():
        fields = (
            f"sources = {_lua_set(rule.sources)}",
            f"targets = {_lua_set(rule.targets)}",
            f"event = '{rule.event.value}'",
            f"webhook = '{rule.webhook.value if rule.webhook else ''}'",
            f"bumps_attempt = {'true' if rule.bumps_attempt else 'false'}",
            f"fenced = {'true' if rule.fenced else 'false'}",
            f"on_deadline = '{rule.on_deadline.value if rule.on_deadline else ''}'",
            f"after_deadline = {'true' if rule.after_deadline else 'false'}",
        )
        rules.append(f"  {name.value} = {{{', '.join(fields)}}}")
    table = "local RULES = {\n" + ",\n".join(rules) + "\n}\n"
    return table + f"local TERMINAL = {_lua_set(TERMINAL_STATUSES)}\n"


def _lua_priorities() -> str:
    """The priorities of `sdq.scheduling`, most urgent first, for the scheduling functions."""
    listed = ", ".join(str(priority) for priority in PRIORITIES)
    return f"local PRIORITIES = {{{listed}}}\nlocal DEFAULT_PRIORITY = {DEFAULT_PRIORITY}\n"


_SCHEDULE = _lua_priorities() + lua("jobs_schedule.lua")
_APPLY = _lua_rules() + _SCHEDULE + lua("webhooks_schedule.lua", "jobs_apply.lua")
_CREATE = _SCHEDULE + lua("jobs_create.lua")
_TRANSITION = _APPLY + lua("jobs_transition.lua")
_CLAIM_NEXT = _APPLY + lua("jobs_claim_one.lua", "jobs_claim_next.lua")
_CLAIM_COMPATIBLE = _APPLY + lua("jobs_claim_one.lua", "jobs_claim_compatible.lua")
_QUEUE_POSITION = _SCHEDULE + lua("jobs_queue_position.lua")
_PROGRESS = lua("webhooks_schedule.lua", "jobs_progress.lua")
_REQUEST_CANCEL = lua("jobs_request_cancel.lua")
_LIST = lua("jobs_list.lua")
_DELETE = _SCHEDULE + lua("jobs_delete.lua")
# The most jobs one claim passes over (aborts as expired, or drops as gone) on its way to a job it
# can start; the deadline sweep does the rest.
CLAIM_PASS_LIMIT = 100
# How long a delivery's claim is remembered, so that a retried claim call gets the same job.
DELIVERY_CLAIM_TTL_S = 3600
# The most queued inputs one batch claim reads in search of jobs compatible with the first.
BATCH_SCAN_LIMIT = 200
_QUEUED_SUMMARY = lua("jobs_queued_summary.lua")


def _job_or_none(raw: dict[str, str]) -> Job | None:
    return decode_job(raw) if raw else None


def _transition_reply(raw: list[Any]) -> Job | None:
    return decode_job(pairs(raw[1:])) if raw and int(raw[0]) == 1 else None


class Admission(IntEnum):
    """What `create_job` did: created the job, or why not (nothing was written then)."""

    ID_TAKEN = 0
    CREATED = 1
    MODEL_FULL = 2  # the model's max_queued
    TENANT_FULL = 3  # the tenant's (its key's) max_queued


@dataclass(frozen=True)
class Created:
    """The outcome of `create_job`, with the queue counts admission saw before this job: the
    model's queued jobs, and the tenant's among them (counted only when it has a limit); and,
    once created, the job's place in the queue."""

    outcome: Admission
    queued: int
    tenant_queued: int
    position: int = -1

    @property
    def place(self) -> QueuePlace | None:
        """Where the new job stands in its model's queue (None when it was not created)."""
        if not self.created:
            return None
        return QueuePlace(self.position, self.queued + 1)

    @property
    def created(self) -> bool:
        return self.outcome is Admission.CREATED


def create_job(
    job: Job,
    retention_s: int,
    *,
    max_queued: int | None = None,
    tenant_max_queued: int | None = None,
    token: str | None = None,
) -> Op[Created]:
    """Create the job and queue it, unless the model already has `max_queued` jobs queued or the
    tenant `tenant_max_queued` of them (checked in the same step: two racing submits cannot both
    take the last place). `token` (`sdq.task_message.generate_token`) goes onto the model's
    Celery queue in that step too: the job is never there without it, nor it without the job."""
    record = job.model_dump(exclude={"metrics"}) | {"metrics": job.metrics}
    return Op(
        keys=(
            keys.job(job.id),
            keys.job_events(job.id),
            keys.jobs_index(),
            keys.running_jobs(),
            keys.queued_jobs(job.model),
            keys.scaler_wake(),
            keys.tenant_jobs(job.tenant),
            keys.deadlines(),
            keys.queued_deadlines(job.model),
            keys.queue(job.model),
        ),
        args=(
            str(retention_s),
            str(int(job.created_at * 1_000_000)),
            EventType.QUEUED.value,
            json.dumps({"status": job.status.value, "model": job.model}),
            job.model,
            "" if job.deadline_at is None else repr(job.deadline_at),
            keys.SCHED_PREFIX,
            job.tenant,
            str(job.priority),
            "" if max_queued is None else str(max_queued),
            "" if tenant_max_queued is None else str(tenant_max_queued),
            token or "",
            json.dumps(encode_fields(record)),
        ),
        decode=lambda raw: Created(Admission(int(raw[0])), int(raw[1]), int(raw[2]), int(raw[3])),
        script=_CREATE,
    )


def get_job(job_id: str) -> Op[Job | None]:
    return Op(keys=(), args=("HGETALL", keys.job(job_id)), decode=_job_or_none)


def transition(
    name: Transition,
    job_id: str,
    *,
    retention_s: int,
    now: float,
    to: JobStatus | None = None,
    attempt: int | None = None,
    worker_id: str | None = None,
    event_data: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
) -> Op[Job | None]:
    """Apply one transition of `sdq.job.TRANSITIONS`; the table says what it writes.

    `to` picks the target when the rule allows several; fenced rules need the `attempt` and
    `worker_id` they apply to. The reply is the job after the change, or None when the job was
    not in a state the transition starts from (or the fence did not match): nothing was written.
    A claim of a job whose deadline passed by `now` aborts it instead: the reply's status says so.
    """
    rule = TRANSITIONS[name]
    if to is None and len(rule.targets) == 1:
        (to,) = rule.targets
    if to not in rule.targets:
        allowed = ", ".join(sorted(rule.targets))
        raise ValueError(f"transition {name.value} leads to one of {allowed}, not {to!r}")
    if rule.fenced and (attempt is None or worker_id is None):
        raise ValueError(f"transition {name.value} is fenced: give the attempt and the worker")
    return Op(
        keys=(
            keys.job(job_id),
            keys.job_events(job_id),
            keys.running_jobs(),
            keys.job_webhooks(job_id),
            keys.webhooks_due(),
            keys.webhooks_wake(),
            keys.webhooks_keep(),
            keys.deadlines(),
        ),
        args=(
            name.value,
            to.value,
            "" if attempt is None else str(attempt),
            worker_id or "",
            str(retention_s),
            json.dumps(event_data or {}),
            repr(now),
            keys.QUEUED_PREFIX,
            keys.DEADLINES_PREFIX,
            keys.SCHED_PREFIX,
            *encode_fields(fields or {}),
        ),
        decode=_transition_reply,
        script=_TRANSITION,
    )


@dataclass(frozen=True)
class Claimed:
    """What a claim found: the job it started (None: nothing could start), and how many expired
    jobs it aborted on the way."""

    job: Job | None
    aborted: int


def claim_next(
    model_id: str,
    *,
    worker_id: str,
    retention_s: int,
    now: float,
    delivery_id: str | None = None,
    pass_limit: int = CLAIM_PASS_LIMIT,
    affinity: Affinity = FIFO,
) -> Op[Claimed]:
    """Start the job a free worker of the model takes next (`sdq.scheduling`: priority, then the
    tenant served least recently, then FIFO, or within the tenant's turn the job needing the
    fewest loads of adapters not in `affinity.held`), in one step; expired jobs met first are
    aborted.
    `delivery_id` (the Celery task id) makes a repeat of the call, such as the client's retry
    after a lost reply, answer with the job the first one claimed instead of claiming another.
    The claimed job is noted in the index of jobs with files (`sdq.store.job_files.note_files`)
    in the same step, before any of its files is written."""

    def decode(raw: list[Any]) -> Claimed:
        if int(raw[0]) == 1:
            return Claimed(decode_job(pairs(raw[2:])), int(raw[1]))
        return Claimed(None, int(raw[1]))

    return Op(
        keys=_claim_keys(model_id),
        args=(
            *_claim_args(model_id, retention_s, worker_id, now),
            str(pass_limit),
            keys.delivery_claim(delivery_id) if delivery_id else "",
            str(DELIVERY_CLAIM_TTL_S),
            worker_id,
            repr(now + NOTE_GRACE_S),
            ",".join(sorted(affinity.held)),
            str(affinity.window),
            str(affinity.max_passes),
            *_claimed_fields(worker_id, now),
        ),
        decode=decode,
        script=_CLAIM_NEXT,
    )


def _claim_keys(model_id: str) -> tuple[str, ...]:
    return (
        keys.running_jobs(),
        keys.webhooks_due(),
        keys.webhooks_wake(),
        keys.webhooks_keep(),
        keys.deadlines(),
        keys.queued_jobs(model_id),
        keys.job_files(),
    )


def _claim_args(model_id: str, retention_s: int, worker_id: str, now: float) -> tuple[str, ...]:
    job_prefix = keys.job("")
    return (
        model_id,
        str(retention_s),
        json.dumps({"worker_id": worker_id}),
        repr(now),
        job_prefix,
        keys.job_events("")[len(job_prefix) :],
        keys.job_webhooks("")[len(job_prefix) :],
        keys.QUEUED_PREFIX,
        keys.DEADLINES_PREFIX,
        keys.SCHED_PREFIX,
    )


def _claimed_fields(worker_id: str, now: float) -> list[str]:
    return encode_fields({"worker_id": worker_id, "started_at": now, "cancel_requested": False})


@dataclass(frozen=True)
class BatchClaimed:
    """What a batch claim found: the jobs it started, and how many expired jobs it aborted."""

    jobs: list[Job]
    aborted: int


def claim_compatible(
    model_id: str,
    batch_key: dict[str, Any],
    defaults: dict[str, Any],
    images: int,
    *,
    worker_id: str,
    retention_s: int,
    now: float,
    scan_limit: int = BATCH_SCAN_LIMIT,
) -> Op[BatchClaimed]:
    """Start queued jobs of the model whose input holds `batch_key` (a missing field counts as its
    value in `defaults`; `negative_prompt_empty` is derived), asking for `images` images in all at
    most, taken in the order a free worker takes jobs (`sdq.scheduling`); incompatible jobs, and
    jobs asking for more images than are left, keep their place. At most `scan_limit` inputs are
    read. Each claimed job is noted in the index of jobs with files, as `claim_next` does."""

    def decode(raw: list[Any]) -> BatchClaimed:
        return BatchClaimed([decode_job(pairs(flat)) for flat in raw[1:]], int(raw[0]))

    return Op(
        keys=_claim_keys(model_id),
        args=(
            *_claim_args(model_id, retention_s, worker_id, now),
            str(images),
            str(scan_limit),
            json.dumps(batch_key),
            json.dumps(defaults),
            repr(now + NOTE_GRACE_S),
            *_claimed_fields(worker_id, now),
        ),
        decode=decode,
        script=_CLAIM_COMPATIBLE,
    )


@dataclass(frozen=True)
class QueuePlace:
    """Where a queued job stands: how many jobs would be taken before it (0: it is next), and
    how many are queued for its model in all."""

    position: int
    queued: int


def queue_place(job_id: str) -> Op[QueuePlace | None]:
    """The job's place in its model's queue (`sdq.scheduling.queue_position`); None when it is
    not queued."""
    return Op(
        keys=(keys.job(job_id),),
        args=(keys.QUEUED_PREFIX, keys.SCHED_PREFIX),
        decode=lambda raw: None if int(raw[0]) < 0 else QueuePlace(int(raw[0]), int(raw[1])),
        script=_QUEUE_POSITION,
    )


def request_cancel(job_id: str) -> Op[JobStatus | None]:
    """Flag a running job for cancellation; reply with the status the job had (None: unknown)."""
    return Op(
        keys=(keys.job(job_id),),
        args=(),
        decode=lambda raw: JobStatus(raw) if raw else None,
        script=_REQUEST_CANCEL,
    )


def append_event(
    job_id: str,
    *,
    attempt: int,
    worker_id: str,
    event: EventType,
    data: dict[str, Any],
    log_line: str = "",
    webhook_event: WebhookEvent | None = None,
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
            event.value,
            json.dumps(data | {"attempt": attempt}, separators=(",", ":")),
            log_line,
            webhook_event.value if webhook_event else "",
            repr(now),
            repr(webhook_min_interval_s),
            str(retention_s),
        ),
        decode=lambda raw: int(raw) == 1,
        script=_PROGRESS,
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


# The most job ids one list call looks at: a filtered page (status, model) may end early (with a
# cursor to go on from) rather than scan a long index in one Lua call.
LIST_SCAN_BUDGET = 1000


def list_jobs(
    cursor: str | None,
    limit: int,
    tenant: str | None = None,
    status: JobStatus | None = None,
    model: str | None = None,
) -> Op[JobPage]:
    """Jobs newest first, every tenant's or one's, all or those in `status` and of `model`;
    `cursor` is the opaque `next_cursor` of the previous page. A filtered page may hold fewer
    than `limit` jobs and still have a next page: the end is when `next_cursor` is None."""
    max_score, _, after_id = (cursor or "+inf:").partition(":")

    def decode(raw: list[Any]) -> JobPage:
        jobs: list[Job] = []
        i = 1
        while i < len(raw):
            count = int(raw[i + 1])
            jobs.append(decode_job(pairs(raw[i + 2 : i + 2 + count])))
            i += 2 + count
        return JobPage(jobs, str(raw[0]) or None)

    return Op(
        keys=(keys.jobs_index() if tenant is None else keys.tenant_jobs(tenant),),
        args=(
            max_score,
            after_id,
            str(limit),
            keys.job(""),
            status.value if status else "",
            str(LIST_SCAN_BUDGET),
            model or "",
        ),
        decode=decode,
        script=_LIST,
    )


def queue_token(model_id: str, token: str) -> Op[int]:
    """Put a job's Celery token (`sdq.task_message.generate_token`) on the model's queue on its
    own, for a job created without one."""
    return Op(keys=(), args=("LPUSH", keys.queue(model_id), token), decode=int)


def delete_job(job: Job) -> Op[bool]:
    """Remove every trace of a job never started (used when an accepted request could not be
    enqueued); False when a worker has claimed it meanwhile (it is left to run)."""
    return Op(
        keys=(
            keys.job(job.id),
            keys.job_events(job.id),
            keys.jobs_index(),
            keys.running_jobs(),
            keys.queued_jobs(job.model),
            keys.tenant_jobs(job.tenant),
            keys.deadlines(),
            keys.queued_deadlines(job.model),
            keys.queue(job.model),
        ),
        args=(job.id, job.model, keys.SCHED_PREFIX),
        decode=lambda raw: int(raw) == 1,
        script=_DELETE,
    )


def queued_job_ids(model_id: str, limit: int = 1000) -> Op[list[str]]:
    """Ids of the model's queued jobs, oldest first (at most `limit`)."""
    return Op(
        keys=(),
        args=("ZRANGE", keys.queued_jobs(model_id), "0", str(limit - 1)),
        decode=lambda raw: list(raw),
    )


def queued_summary(model_id: str, now: float | None = None) -> Op[tuple[int, float | None]]:
    """How many of the model's queued jobs can still run, and when the oldest of them was created:
    jobs whose deadline passed by `now` (None: the Redis server's clock) are left out, as they
    will be aborted, never run."""
    return Op(
        keys=(keys.queued_jobs(model_id), keys.queued_deadlines(model_id)),
        args=("" if now is None else repr(now),),
        decode=lambda raw: (int(raw[0]), float(raw[1]) if raw[1] else None),
        script=_QUEUED_SUMMARY,
    )


def expired_job_ids(now: float, limit: int = 100) -> Op[list[str]]:
    """Ids of queued jobs whose deadline passed by `now`, earliest deadline first (at most
    `limit`); each is aborted with the `abort` transition."""
    return Op(
        keys=(),
        args=("ZRANGEBYSCORE", keys.deadlines(), "-inf", repr(now), "LIMIT", "0", str(limit)),
        decode=lambda raw: list(raw),
    )
