"""The last-hour capacity history on a real Redis: one sample per interval whichever replica
offers it, read oldest first from a given time, nothing older than an hour kept."""

from __future__ import annotations

import redis

from sdq.store.capacity_history import (
    HISTORY_KEEP_S,
    CapacitySample,
    interval_start,
    read_history,
    record_sample,
)
from sdq.store.ops import OpRunner

MODEL = "sdq/tiny"
INTERVAL = 10.0
T0 = 1_700_000_000.0


def sample(at: float, queued: int, desired: int | None = None) -> CapacitySample:
    return CapacitySample(at=at, queued=queued, in_flight=1, workers=2, desired=desired)


def test_one_sample_per_interval_the_first_offered_kept(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    offers = [  # (at, queued, kept?): replicas offering within and across intervals
        (T0 + 1, 5, True),
        (T0 + 4, 6, False),  # same interval: another replica's sample
        (T0 + 9.9, 7, False),
        (T0 + 10, 8, True),
        (T0 + 35, 9, True),  # a gap (no API ran for an interval) stays a gap
    ]
    for at, queued, kept in offers:
        assert store.run(record_sample(MODEL, sample(at, queued), INTERVAL)) is kept, at
    history = store.run(read_history(MODEL, T0))
    assert [(s.at, s.queued) for s in history] == [(T0, 5), (T0 + 10, 8), (T0 + 30, 9)]
    assert history[0] == CapacitySample(T0, 5, 1, 2, None)
    assert [s.queued for s in store.run(read_history(MODEL, T0 + 5))] == [8, 9]


def test_samples_older_than_an_hour_are_dropped(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    for minute in range(0, 70, 5):
        at = T0 + minute * 60
        assert store.run(record_sample(MODEL, sample(at, minute, desired=3), INTERVAL))
    kept = store.run(read_history(MODEL, 0))
    newest = T0 + 65 * 60
    assert kept[-1].at == newest and kept[-1].desired == 3
    assert all(s.at >= newest - HISTORY_KEEP_S for s in kept)
    assert len(kept) == 13  # minutes 5..65
    assert redis_client.ttl(f"sdq:model:{MODEL}:history") > 0


def test_every_replica_agrees_on_the_interval() -> None:
    cases = [(T0 + 0.0, T0), (T0 + 9.99, T0), (T0 + 10, T0 + 10), (T0 + 0.5, T0)]
    for now, start in cases:
        assert interval_start(now, INTERVAL) == start
