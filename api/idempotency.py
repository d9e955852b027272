"""Creating a job at most once per tenant and `Idempotency-Key`: take the key, then create the
job or answer with the one the key already made; a submit that fails frees the key."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Response

from api.errors import Conflict
from api.idempotency_key import (
    HEADER,
    REPLAYED_HEADER,
    WAIT_FOR_JOB_S,
    Step,
    check_key,
    different_request,
    key_ttl_s,
    next_step,
)
from api.runtime import ApiRuntime
from sdq.job import Job, new_job_id
from sdq.store.events import read_events
from sdq.store.idempotency import claim_key, release_key
from sdq.store.jobs import get_job

log = logging.getLogger(__name__)

_WAIT_SLICE_MS = 250  # how often a waiting request looks again whether the key was freed


# The header as a route or dependency parameter declares it (the OpenAPI document says it).
IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description="Repeat the request safely: the same key (1 to 255 visible ASCII "
        "characters) within 24 h answers with the prediction it made first",
    ),
]


async def idempotency_key(value: IdempotencyHeader = None) -> str | None:
    return check_key(value)


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]


@dataclass(frozen=True)
class Submitted:
    """The job a create call answers with; `replayed` when an earlier call with its key made it."""

    job: Job
    replayed: bool

    def mark(self, response: Response) -> None:
        """Say so in the response when it repeats an earlier one."""
        if self.replayed:
            response.headers[REPLAYED_HEADER] = "true"


async def submit_once(
    runtime: ApiRuntime,
    tenant: str,
    key: str | None,
    wanted_hash: str,
    create: Callable[[str], Awaitable[Job]],
) -> Submitted:
    """`create(job_id)` unless the tenant's `key` already made a job for the same request (the
    hash of the normalized request): then that job. Requests racing with one key create one job:
    the key is taken atomically before the job is created, and the others wait for it."""
    job_id = new_job_id()
    if key is None:
        return Submitted(await create(job_id), replayed=False)
    ttl_s = key_ttl_s(runtime.settings.job_retention_s)
    deadline = time.monotonic() + WAIT_FOR_JOB_S
    while True:
        claim = await runtime.store.run(
            claim_key(tenant, key, job_id, wanted_hash, now=time.time(), ttl_s=ttl_s)
        )
        job = None
        if not claim.taken and claim.request_hash == wanted_hash:
            job = await runtime.store.run(get_job(claim.job_id))
        left_s = deadline - time.monotonic()
        step = next_step(claim, wanted_hash, job is not None, time.time(), left_s <= 0)
        if step is Step.CREATE:
            return Submitted(await _create_holding(runtime, tenant, key, job_id, create), False)
        if step is Step.REPLAY and job is not None:
            return Submitted(job, replayed=True)
        if step is Step.MISMATCH:
            raise different_request()
        if step is Step.TAKE_OVER:
            log.warning("freeing an idempotency key left without its job %s", claim.job_id)
            await runtime.store.run(release_key(tenant, key, claim.job_id))
        elif step is Step.BUSY:
            raise Conflict(
                f"another request with this {HEADER} is still creating its prediction; "
                "repeat the request in a moment"
            )
        else:  # WAIT: the job's event stream is created with its record; block on it a while
            block_ms = max(1, min(_WAIT_SLICE_MS, int(left_s * 1000)))
            await runtime.blocking.run(read_events(claim.job_id, "0-0", 1, block_ms=block_ms))


async def _create_holding(
    runtime: ApiRuntime,
    tenant: str,
    key: str,
    job_id: str,
    create: Callable[[str], Awaitable[Job]],
) -> Job:
    """Create the job under the key just taken; free the key again if that fails."""
    try:
        return await create(job_id)
    except BaseException:
        try:
            await runtime.store.run(release_key(tenant, key, job_id))
        except Exception:  # the key frees itself: stale once STALE_AFTER_S passed
            log.warning("could not free the idempotency key of failed submit %s", job_id)
        raise
