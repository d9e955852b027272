"""A worker's heartbeat carries its broker's health, and ticks the liveness marker only when it
reached Redis while the broker was healthy (real Redis)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from cli.embedded_redis import EmbeddedRedis
from sdq.store import redis_keys as keys
from sdq.store.heartbeats import BrokerState
from sdq.store.ops import OpRunner
from worker.heartbeat_thread import HeartbeatPublisher

SINCE = 1_700_000_000.0


@pytest.mark.parametrize(
    ("broker", "since", "ticks"),
    [(BrokerState.OK, None, 1), (BrokerState.STALLED, SINCE, 0), (BrokerState.DOWN, SINCE, 0)],
)
def test_the_heartbeat_says_how_the_broker_is_and_only_a_healthy_one_is_alive(
    redis_client: redis.Redis, broker: BrokerState, since: float | None, ticks: int
) -> None:
    ticked: list[bool] = []
    beat = HeartbeatPublisher(
        OpRunner(redis_client), "w1", "sdq/tiny", 60, 120, lambda: ticked.append(True)
    )
    beat.watch_broker(lambda: (broker, since))
    beat.start()
    try:
        doc = redis_client.get(keys.worker("w1"))
        assert isinstance(doc, str)
        record = json.loads(doc)
        assert (record["broker"], record["broker_since"]) == (broker.value, since)
        assert len(ticked) == ticks
    finally:
        beat.stop()


def test_a_heartbeat_that_cannot_reach_redis_is_not_alive(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False).start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    ticked: list[bool] = []
    beat = HeartbeatPublisher(
        OpRunner(client), "w1", "sdq/tiny", 60, 120, lambda: ticked.append(True)
    )
    server.stop()
    try:
        beat.start()
        assert ticked == []
    finally:
        beat.stop()
        client.close()
