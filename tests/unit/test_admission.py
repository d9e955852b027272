"""Admission control: which limit a submit hits, and a Retry-After computed from the queue, the
workers and the model's predict time (not a constant)."""

from __future__ import annotations

import pytest

from sdq.admission import (
    MAX_RETRY_AFTER_S,
    UNMEASURED_PREDICT_S,
    QueueState,
    admit,
    retry_after_s,
)


def state(
    queued: int = 0,
    ready: int = 1,
    starting: int = 0,
    p50: float | None = 4.0,
    cold: float = 30.0,
) -> QueueState:
    return QueueState(queued, ready, starting, p50, cold)


@pytest.mark.parametrize(
    ("queue", "must_start", "expected"),
    [
        (state(), 1, 4),  # one job ahead must start: one predict time
        (state(), 3, 12),  # one worker: three predict times
        (state(ready=2), 3, 8),  # two workers take two at a time: ceil(3/2) = 2 rounds
        (state(ready=4), 3, 4),
        (state(ready=0, starting=0), 1, 34),  # no worker: a cold start first
        (state(ready=0, starting=2), 4, 38),  # two starting: cold start, then 2 rounds
        (state(p50=None), 2, int(2 * UNMEASURED_PREDICT_S)),  # nothing measured yet
        (state(p50=0.2), 1, 1),  # never below one second
        (state(p50=0.2), 7, 2),  # rounded up to whole seconds
        (state(p50=600.0), 100, MAX_RETRY_AFTER_S),  # capped
        (state(), 0, 4),  # at least one job must start
    ],
)
def test_retry_after_follows_the_queue_the_workers_and_the_predict_time(
    queue: QueueState, must_start: int, expected: int
) -> None:
    assert retry_after_s(queue, must_start) == expected


@pytest.mark.parametrize(
    ("queued", "max_queued", "key_queued", "key_max", "limit", "retry"),
    [
        (5, None, 5, None, None, None),  # unbounded
        (4, 5, 0, None, None, None),  # one more fits
        (5, 5, 0, None, "max_queued", 4),  # full: the next start frees a place
        (7, 5, 0, None, "max_queued", 12),  # over (limit lowered live): 3 must start
        (2, 5, 3, 3, "key max_queued", 4),  # the key's own quota
        (5, 5, 3, 3, "max_queued", 4),  # the model's limit is named first
        (2, 5, 2, 3, None, None),
    ],
)
def test_admit_names_the_limit_hit(
    queued: int,
    max_queued: int | None,
    key_queued: int,
    key_max: int | None,
    limit: str | None,
    retry: int | None,
) -> None:
    refusal = admit(
        state(queued=queued),
        max_queued=max_queued,
        key_queued=key_queued,
        key_max_queued=key_max,
        model_id="sdq/tiny",
    )
    if limit is None:
        assert refusal is None
        return
    assert refusal is not None
    assert (refusal.limit, refusal.retry_after_s) == (limit, retry)
    assert "max_queued" in refusal.detail and "sdq/tiny" in refusal.detail
