"""`sdq scaler` with local workers: a burst at zero starts up to max; idle, the pool goes back to 0."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.helpers import Stack, start, stop, wait_terminal, wait_until

MODEL = "sdq/synthetic"
BURST = 6


@pytest.fixture
def api_only(stack: Stack, redis_client: redis.Redis) -> Iterator[Stack]:
    """The module's API with no worker, on an empty database (earlier modules leave jobs)."""
    for worker in stack.workers:
        stop(worker)
    stack.workers.clear()
    redis_client.flushdb()
    yield stack


def workers(client: httpx.Client) -> int:
    count: int = client.get(f"/v1/models/{MODEL}").json()["workers"]
    return count


def test_a_burst_scales_from_zero_to_max_and_back_to_zero(api_only: Stack, tmp_path: Path) -> None:
    with api_only.http() as client:
        policy = client.get(f"/v1/admin/models/{MODEL}/scaling").json()
        fast = policy | {"scale_down_delay_s": 0, "idle_to_zero_s": 2, "max_replicas": 3}
        assert client.put(f"/v1/admin/models/{MODEL}/scaling", json=fast).status_code == 200
        scaler = start(
            ["scaler"],
            api_only.env | {"SDQ_SCALER_POLL_INTERVAL_S": "0.5"},
            tmp_path / "scaler.log",
        )
        try:
            time.sleep(2)
            assert workers(client) == 0, "no work: no worker"
            jobs = [
                client.post(
                    "/v1/predictions",
                    json={"model": MODEL, "input": {"prompt": f"{i}", "num_inference_steps": 20}},
                ).json()
                for i in range(BURST)
            ]
            wait_until(lambda: workers(client) == 3, 60, "the pool to reach max_replicas")
            done = [wait_terminal(client, job["id"], timeout=120) for job in jobs]
            assert [d["status"] for d in done] == ["succeeded"] * BURST
            assert "synthetic" in done[0]["logs"], "responses say the model is synthetic"
            wait_until(lambda: workers(client) == 0, 60, "the idle workers to be stopped")
            events = client.get("/v1/admin/scaling/events").json()["events"]
            moves = [(e["from"], e["to"]) for e in reversed(events) if e["model"] == MODEL]
            assert moves[0][0] == 0 and max(to for _, to in moves) == 3, moves
            assert moves[-1][1] == 0, moves
            assert all(to >= 0 for _, to in moves)
        finally:
            stop(scaler)
        assert scaler.returncode == 0, (tmp_path / "scaler.log").read_text()[-3000:]
        client.put(f"/v1/admin/models/{MODEL}/scaling", json=policy)
