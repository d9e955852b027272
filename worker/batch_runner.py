"""Running a batch: compatible jobs in one pipeline call, each with its own events, cancel,
deadline, outputs and terminal state."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from celery.exceptions import SoftTimeLimitExceeded

from sdq.inputs import GenerationInput
from sdq.job import Job, JobStatus
from sdq.logs import logging_for_job
from sdq.storage import StorageFull
from sdq.store.ops import Op
from worker.engines.base import GenerationCanceled, StepCallback
from worker.job_finish import finish, store_outputs
from worker.progress import ProgressReporter
from worker.runtime import WorkerRuntime

log = logging.getLogger(__name__)


@dataclass
class Member:
    """One job of the batch: its input, its progress reporter, and its outcome once written."""

    job: Job
    request: GenerationInput
    reporter: ProgressReporter
    done: bool = False
    status: JobStatus | None = None
    keys: list[str] = field(default_factory=list)


def run_batch(runtime: WorkerRuntime, jobs: list[Job]) -> list[JobStatus | None]:
    """Run the jobs (compatible: `sdq.batching`) as one pipeline call and end each on its own:
    a job canceled or past its deadline mid-batch ends at once (canceled) and stops contributing;
    the others run on. Returns each job's terminal status written (None: superseded)."""
    members = []
    for job in jobs:
        request = GenerationInput.model_validate(job.input)
        members.append(Member(job, request, ProgressReporter(runtime, job, request)))
        with logging_for_job(job.id):
            log.info(
                "started attempt %d on %s (batch of %d)", job.attempt, runtime.worker_id, len(jobs)
            )
    started = time.perf_counter()
    failure: dict[str, Any] | None = None
    results: list[Any] = [None] * len(members)
    try:
        results = runtime.engine.generate_batch(
            [member.request for member in members],
            [_callback(runtime, member, started) for member in members],
        )
    except GenerationCanceled:
        pass  # every job stopped, and each is ended already
    except (redis.ConnectionError, redis.TimeoutError):
        log.warning("Redis unreachable during the batch: leaving its jobs to recovery")
        raise
    except SoftTimeLimitExceeded:
        limit = runtime.settings.job_soft_time_limit_s
        failure = {"error": f"job exceeded its time limit of {limit} s"}
    except Exception as error:
        log.exception("batched generation failed")
        failure = {"error": f"{type(error).__name__}: {error}"}
    predict_time = time.perf_counter() - started
    if failure is None and len(results) != len(members):
        log.error("the engine returned %d results for a batch of %d", len(results), len(members))
        failure = {"error": "the batch returned no images for this job"}
    for member, images in zip(members, results, strict=False):
        if member.done:
            continue
        with logging_for_job(member.job.id):
            if failure is not None or images is None:
                own = failure or {"error": "the batch returned no images for this job"}
                _end(runtime, member, JobStatus.FAILED, own, predict_time)
            else:
                _store_and_end(runtime, member, images, predict_time)
    return [member.status for member in members]


def _callback(runtime: WorkerRuntime, member: Member, started: float) -> StepCallback:
    """The member's step callback: its progress events; when it says stop, the job ends at once."""

    def on_step(step: int, total: int, latents: Any) -> bool:
        with logging_for_job(member.job.id):
            if not member.reporter(step, total, latents):
                return False
            fields = member.reporter.canceled_fields()
            _end(runtime, member, JobStatus.CANCELED, fields, time.perf_counter() - started)
            return True

    return on_step


def _store_and_end(
    runtime: WorkerRuntime, member: Member, images: list[Any], predict_time: float
) -> None:
    """Store the member's images and end it; a storage failure fails this job only."""
    try:
        store_outputs(runtime, member.job, member.request, images, member.keys)
    except (redis.ConnectionError, redis.TimeoutError):
        raise
    except StorageFull as error:
        log.error("could not store the output: %s", error)
        _end(runtime, member, JobStatus.FAILED, {"error": str(error)}, predict_time)
        return
    except Exception as error:
        log.exception("storing the output failed")
        fields = {"error": f"{type(error).__name__}: {error}"}
        _end(runtime, member, JobStatus.FAILED, fields, predict_time)
        return
    output = member.reporter.output(member.keys)  # written in the terminal write's round trip
    _end(runtime, member, JobStatus.SUCCEEDED, {"output": member.keys}, predict_time, [output])


def _end(
    runtime: WorkerRuntime,
    member: Member,
    status: JobStatus,
    fields: dict[str, Any],
    predict_time: float,
    before: Sequence[Op[Any]] = (),
) -> None:
    member.done = True
    member.status = finish(
        runtime, member.job, member.request, status, fields, member.keys, predict_time, before
    )
