"""What only sdq can tell about a bench: each request's queue wait against its predict time,
the cold starts it met, and the model's workers over time."""

from __future__ import annotations

from itertools import pairwise
from typing import Any, NamedTuple

from cli.loadgen.outcome import SAMPLE_EVERY_S, Outcome, Sample
from cli.loadgen.summary import percentile


class WorkerStart(NamedTuple):
    """A window of the workers timeline in which a worker started."""

    before_s: float  # the previous sample's time
    at_s: float  # this sample's time
    added: int  # workers added
    from_zero: bool  # the previous sample saw no worker at all


def worker_starts(timeline: list[Sample]) -> list[WorkerStart]:
    """Each rise of the live worker count between two samples (a worker became live then)."""
    return [
        WorkerStart(before_s, at_s, now - before, before == 0)
        for (before_s, before), (at_s, now) in pairwise(timeline)
        if now > before
    ]


def waited_for_a_start(
    outcome: Outcome, starts: list[WorkerStart], slack_s: float = SAMPLE_EVERY_S
) -> bool:
    """Whether the request waited in the queue across a worker start: it was queued at the
    sample that still saw fewer workers (the first sample, at 0 s, is taken before any request
    is sent) and its job started after that sample. When that sample saw no worker at all, the
    job could only run on a started one, however long it then queued behind others; otherwise
    it must have started by `slack_s` after the sample that saw the new worker (a worker shows
    in `workers` once loaded, a moment before it takes work), else it waited for busy ones."""
    if outcome.queue_wait_s is None:
        return False
    started_s = outcome.sent_s + outcome.queue_wait_s
    return any(
        (outcome.sent_s <= start.before_s or start.before_s == 0.0)
        and start.before_s < started_s
        and (start.from_zero or started_s <= start.at_s + slack_s)
        for start in starts
    )


def spread(values: list[float]) -> dict[str, float] | None:
    """Average, p50, p95 and slowest of some seconds (None: none)."""
    if not values:
        return None
    ordered = sorted(values)
    return {
        "average_s": round(sum(ordered) / len(ordered), 4),
        "p50_s": round(percentile(ordered, 50), 4),
        "p95_s": round(percentile(ordered, 95), 4),
        "slowest_s": round(ordered[-1], 4),
    }


def changes(timeline: list[Sample]) -> list[Sample]:
    """The samples where the worker count changed (and the first)."""
    kept: list[Sample] = []
    for at_s, workers in timeline:
        if not kept or workers != kept[-1][1]:
            kept.append((round(at_s, 2), workers))
    return kept


def _split_missing(outcomes: list[Outcome], split: list[Outcome]) -> str | None:
    if split:
        return None
    if not any(o.prediction_id for o in outcomes):
        return "no answer named an sdq prediction"
    return "the predictions the answers named could not be read"


def sdq_facts(
    outcomes: list[Outcome],
    timeline: list[Sample],
    model: str | None,
    no_split: str | None = None,
    no_workers: str | None = None,
) -> dict[str, Any]:
    """The sdq part of the summary as JSON. `no_split` says why no request can have a queue wait
    and predict time (None: those read from the predictions are used); the overhead is what
    the latency holds beyond them, for requests whose latency ran to the finished prediction.
    `no_workers` says why the timeline is empty."""
    split = [o for o in outcomes if o.has_split and o.error is None]
    to_the_end = [o for o in split if o.finished]
    starts = worker_starts(timeline)
    workers = [count for _, count in timeline]
    return {
        "model": model,
        "unfinished": sum(1 for o in outcomes if o.finished is False),
        "split_read": len(split),
        "split_missing": no_split or _split_missing(outcomes, split),
        "queue_wait": spread([o.queue_wait_s for o in split if o.queue_wait_s is not None]),
        "predict_time": spread([o.predict_time_s for o in split if o.predict_time_s is not None]),
        "overhead": spread(
            [o.latency_s - (o.queue_wait_s or 0.0) - (o.predict_time_s or 0.0) for o in to_the_end]
        ),
        "cold_starts": {
            "worker_starts": sum(start.added for start in starts) if timeline else None,
            "requests_waited": sum(1 for o in split if waited_for_a_start(o, starts))
            if timeline and split
            else None,
        },
        "workers": {
            "start": workers[0],
            "peak": max(workers),
            "end": workers[-1],
            "timeline": [[round(at_s, 2), count] for at_s, count in timeline],
        }
        if timeline
        else None,
        "workers_missing": None if timeline else (no_workers or "no sample was read"),
    }
