"""The local actuator with real worker processes: 0 -> N -> 0, a busy worker is never stopped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from scaler.local_actuator import LocalActuator
from scaler.measure import measure
from sdq.store.ops import OpRunner
from tests.helpers import Stack, process_env, wait_terminal, wait_until

MODEL = "sdq/synthetic"
LONG = {"prompt": "x", "num_inference_steps": 80}  # 8 s at the default 0.1 s per step


@pytest.fixture
def api_only(stack: Stack) -> Iterator[Stack]:
    """The module's stack without its fixed worker: the actuator brings its own."""
    for worker in stack.workers:
        worker.terminate()
        worker.wait(timeout=60)
    stack.workers.clear()
    yield stack


@pytest.fixture
def actuator(api_only: Stack, tmp_path: Path) -> Iterator[LocalActuator]:
    running = LocalActuator(
        env=process_env(api_only.redis_url, api_only.data_dir, api_only.port), log_dir=tmp_path
    )
    yield running
    running.stop_all()


def live_workers(store: OpRunner) -> int:
    return len(measure(store, MODEL, time.time(), 4).workers)


def test_zero_to_n_to_zero_and_busy_workers_survive_scale_in(
    api_only: Stack, actuator: LocalActuator
) -> None:
    store = OpRunner(redis.Redis.from_url(api_only.redis_url, decode_responses=True))
    assert actuator.replicas(MODEL).current == 0
    actuator.scale(MODEL, 2, frozenset())
    assert actuator.replicas(MODEL).current == 2
    wait_until(lambda: live_workers(store) == 2, 60, "two workers to start")

    with httpx.Client(base_url=api_only.url, timeout=30) as client:
        job = client.post("/v1/predictions", json={"model": MODEL, "input": LONG}).json()
        load = wait_until(
            lambda: (m := measure(store, MODEL, time.time(), 4)).in_flight == 1 and m,
            60,
            "the job to start",
        )
        busy = load.busy_worker_ids
        actuator.scale(MODEL, 0, busy)  # asks for zero while one worker is busy
        assert actuator.replicas(MODEL).current == 1, "only the idle worker was stopped"
        wait_until(lambda: live_workers(store) == 1, 60, "the idle worker to leave")
        [survivor] = measure(store, MODEL, time.time(), 4).workers
        assert survivor.worker_id in busy
        done = wait_terminal(client, job["id"], timeout=120)
        assert done["status"] == "succeeded" and done["attempt"] == 1

    actuator.scale(MODEL, 0, frozenset())
    assert actuator.replicas(MODEL).current == 0
    wait_until(lambda: live_workers(store) == 0, 60, "every worker to leave")
