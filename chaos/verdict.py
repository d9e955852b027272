"""Pure: what a soak observed → its report (counts, lost jobs, duplicate outputs, webhooks)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chaos.plan import JobSpec

TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
OUTPUT_NAME = re.compile(r"^out-(\d+)-(\d+)\.png$")


@dataclass(frozen=True)
class Final:
    """A job's prediction as read at the end: status, error, and its outputs' file names."""

    status: str
    error: str | None = None
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Delivery:
    """One `completed` webhook the receiver took: its `webhook-id` and the status it carried."""

    webhook_id: str
    status: str


@dataclass
class Observations:
    jobs: tuple[JobSpec, ...]
    accepted: dict[int, str]  # job index -> prediction id, for jobs the API acknowledged
    refused: dict[int, str]  # job index -> why it was never acknowledged
    final: dict[str, Final]  # prediction id -> its state at the end (absent: unreadable)
    files: dict[str, tuple[str, ...]]  # prediction id -> names under outputs/<id>/
    completed_webhooks: dict[str, list[Delivery]] = field(default_factory=dict)
    # job index -> how many predictions carry its prompt (each job's retries share one
    # Idempotency-Key, so more than one is a duplicate job); absent: not counted
    predictions: dict[int, int] = field(default_factory=dict)


def output_attempts(names: tuple[str, ...] | list[str]) -> set[int]:
    """The attempt numbers among a job's output files (other files, such as a starting image,
    are not outputs)."""
    return {int(m.group(1)) for name in names if (m := OUTPUT_NAME.match(name))}


def output_problem(final: Final, files: tuple[str, ...]) -> str | None:
    """Why a succeeded job's stored outputs are not exactly one set, or None."""
    stored = sorted(name for name in files if OUTPUT_NAME.match(name))
    attempts = output_attempts(stored)
    if not final.outputs:
        return "succeeded without outputs"
    if len(attempts) > 1:
        return f"outputs of {len(attempts)} attempts stored: {stored}"
    if sorted(final.outputs) != stored:
        return f"prediction names {sorted(final.outputs)}, storage holds {stored}"
    return None


def webhook_problem(deliveries: list[Delivery], final: Final | None) -> str | None:
    """Why a job's `completed` webhooks break the promise (at least one, duplicates share one
    `webhook-id` and carry the final status), or None."""
    if not deliveries:
        return "no completed webhook"
    ids = sorted({d.webhook_id for d in deliveries})
    if len(ids) > 1:
        return f"{len(deliveries)} completed webhooks with {len(ids)} webhook-ids: {ids}"
    if final is not None and any(d.status != final.status for d in deliveries):
        return f"completed webhook says {deliveries[0].status}, the prediction {final.status}"
    return None


def judge(seen: Observations) -> dict[str, Any]:
    """The report: every accepted job terminal (lost = 0), one set of outputs per succeeded job,
    at least one `completed` webhook per native job. `ok` is False when any of these fails."""
    by_index = {job.index: job for job in seen.jobs}
    statuses: Counter[str] = Counter()
    lost: dict[str, str] = {}
    failures: dict[str, str] = {}
    outputs: dict[str, str] = {}
    webhooks: dict[str, str] = {}
    deliveries = 0
    retried = 0
    for index, job_id in sorted(seen.accepted.items()):
        final = seen.final.get(job_id)
        if final is None or final.status not in TERMINAL:
            lost[job_id] = final.status if final else "unreadable"
            continue
        statuses[final.status] += 1
        if final.status != "succeeded":
            failures[job_id] = final.error or final.status
        elif problem := output_problem(final, seen.files.get(job_id, ())):
            outputs[job_id] = problem
        retried += max(output_attempts(final.outputs) or {1}) > 1
        if by_index[index].dialect == "native":
            got = seen.completed_webhooks.get(job_id, [])
            deliveries += len(got)
            if problem := webhook_problem(got, final):
                webhooks[job_id] = problem
    dialects = Counter(by_index[i].dialect for i in seen.accepted)
    duplicates = {i: n for i, n in sorted(seen.predictions.items()) if n > 1}
    problems = [
        *(f"lost: {job_id} is {status}" for job_id, status in lost.items()),
        *(f"job {i} made {n} predictions (one Idempotency-Key)" for i, n in duplicates.items()),
        *(f"outputs of {job_id}: {why}" for job_id, why in outputs.items()),
        *(f"webhooks of {job_id}: {why}" for job_id, why in webhooks.items()),
    ]
    return {
        "jobs": len(seen.jobs),
        "accepted": len(seen.accepted),
        "accepted_by_dialect": dict(sorted(dialects.items())),
        "not_accepted": {str(i): why for i, why in sorted(seen.refused.items())},
        "succeeded": statuses["succeeded"],
        "failed": statuses["failed"],
        "canceled": statuses["canceled"],
        "aborted": statuses["aborted"],
        "succeeded_after_a_lost_attempt": retried,
        "failure_reasons": dict(Counter(failures.values()).most_common()),
        "failures": failures,
        "lost": lost,
        "duplicate_jobs": {str(i): n for i, n in duplicates.items()},
        "output_problems": outputs,
        "webhook_problems": webhooks,
        "completed_webhooks": deliveries,
        "ok": not problems,
        "problems": problems,
    }
