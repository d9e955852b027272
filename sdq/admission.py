"""Admission control and queue estimates: whether a submit fits the model's and the key's queue
limits, an honest `Retry-After` when it does not, and when a queued job should be done, all
computed from what the system knows (no I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_RETRY_AFTER_S = 1
MAX_RETRY_AFTER_S = 3600
# Predict time assumed before a model has finished any job (no p50 measured yet).
UNMEASURED_PREDICT_S = 10.0
# Time assumed from starting a worker to its first job (process, model load) until one was measured.
COLD_START_ESTIMATE_S = 30.0


@dataclass(frozen=True)
class QueueState:
    """What the system knows about one model's queue when a submit arrives."""

    queued: int  # jobs waiting (not running)
    workers_ready: int  # workers up, idle or busy
    workers_starting: int  # workers started but not ready yet
    p50_predict_s: float | None  # recent median predict time; None when none finished yet
    cold_start_s: float  # how long a worker takes from start to ready (measured, else estimated)


@dataclass(frozen=True)
class Refusal:
    """A refused submit: which limit it hit, and when to try again (whole seconds)."""

    limit: str
    detail: str
    retry_after_s: int


def seconds_until_started(state: QueueState, jobs: int) -> float:
    """Seconds until `jobs` more of the queued jobs have started, at the rate the workers take
    jobs: one per p50 predict time per worker, the first once a busy worker frees up; with no
    worker ready, after a cold start (of the starting ones, or of one the scaler will start)."""
    per_job = state.p50_predict_s or UNMEASURED_PREDICT_S
    workers = state.workers_ready + state.workers_starting
    wait = 0.0
    if state.workers_ready == 0:
        wait += state.cold_start_s
    return wait + math.ceil(max(jobs, 1) / max(workers, 1)) * per_job


def retry_after_s(state: QueueState, must_start: int) -> int:
    """Whole seconds until `must_start` more of the queued jobs have started (1 s to 1 h)."""
    wait = seconds_until_started(state, must_start)
    return max(MIN_RETRY_AFTER_S, min(MAX_RETRY_AFTER_S, math.ceil(wait)))


def eta_s(state: QueueState, position: int) -> float:
    """Seconds until a queued job with `position` jobs before it should be done: the time until
    those and it have started, plus its own predict time."""
    return seconds_until_started(state, position + 1) + (
        state.p50_predict_s or UNMEASURED_PREDICT_S
    )


def admit(
    state: QueueState,
    *,
    max_queued: int | None,
    key_queued: int,
    key_max_queued: int | None,
    model_id: str,
) -> Refusal | None:
    """None when one more job fits both limits; else the limit hit (the model's first)."""
    if max_queued is not None and state.queued >= max_queued:
        must_start = state.queued - max_queued + 1
        return Refusal(
            "max_queued",
            f"model {model_id} has {state.queued} jobs queued, its limit (max_queued) is "
            f"{max_queued}",
            retry_after_s(state, must_start),
        )
    if key_max_queued is not None and key_queued >= key_max_queued:
        must_start = key_queued - key_max_queued + 1
        return Refusal(
            "key max_queued",
            f"this key has {key_queued} jobs queued for {model_id}, its limit (max_queued) is "
            f"{key_max_queued}",
            retry_after_s(state, must_start),
        )
    return None
