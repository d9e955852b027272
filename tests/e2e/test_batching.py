"""Micro-batching on the real stack (API, Celery worker, tiny diffusers, Redis): compatible
queued jobs run as one pipeline call, each with its own pixels, events, cancel and recovery."""

from __future__ import annotations

import io
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import redis
from PIL import Image

from cli.embedded_redis import EmbeddedRedis
from sdq.scaling_policy import ScalingPolicy
from sdq.store import redis_keys as keys
from sdq.store.ops import OpRunner
from sdq.store.scaling import put_policy
from tests.helpers import (
    Stack,
    started_api,
    stop,
    stream_entries,
    wait_status,
    wait_terminal,
    wait_until,
)

MODEL = "sdq/tiny"
ROUNDING_LEVELS = 2  # batched CPU kernels round differently (tests/integration/...generation)
SMALL = {"width": 64, "height": 64, "num_inference_steps": 4}
LONG = {"width": 128, "height": 128, "num_inference_steps": 150}  # seconds per batch: time to act


@pytest.fixture(scope="module")
def stack(
    redis_server: EmbeddedRedis,
    data_dir: Path,
    tiny_model_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """The API; each test starts its worker once its jobs are queued (so they batch)."""
    with started_api(redis_server.url, data_dir, tmp_path_factory.mktemp("logs")) as running:
        yield running


@pytest.fixture
def store(redis_client: redis.Redis) -> Iterator[OpRunner]:
    yield OpRunner(redis_client)
    redis_client.delete(keys.scaling_policy(MODEL))  # the session's Redis is shared


def set_batch_size(store: OpRunner, size: int) -> None:
    policy = ScalingPolicy(max_batch_size=size)
    store.run(put_policy(MODEL, policy, "test", time.time()))


def submit_all(client: httpx.Client, inputs: list[dict[str, Any]]) -> list[str]:
    ids = []
    for fields in inputs:
        response = client.post("/v1/predictions", json={"model": MODEL, "input": fields})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def run_queued(
    stack: Stack, client: httpx.Client, inputs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Queue the jobs with no worker up, then start one: it finds them all waiting."""
    ids = submit_all(client, inputs)
    worker = stack.start_worker()
    try:
        return [wait_terminal(client, job_id) for job_id in ids]
    finally:
        stop(worker)
        stack.workers.remove(worker)


def pixels(client: httpx.Client, url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(client.get(url).content))).astype(int)


def event_types(redis_client: redis.Redis, job_id: str) -> list[str]:
    return [fields["type"] for _, fields in stream_entries(redis_client, keys.job_events(job_id))]


def steps_reported(redis_client: redis.Redis, job_id: str) -> list[int]:
    return [
        json.loads(fields["data"])["step"]
        for _, fields in stream_entries(redis_client, keys.job_events(job_id))
        if fields["type"] == "progress"
    ]


# Five images in all (one job asks for two); a batch shares a call only when all or none of its
# jobs have a negative prompt.
INPUTS = [
    {"prompt": "a dog", "seed": 11, "negative_prompt": "ugly"} | SMALL,
    {"prompt": "a cat", "seed": 12, "negative_prompt": "blurry"} | SMALL,
    {"prompt": "a boat", "seed": 13, "num_outputs": 2, "negative_prompt": "dark"} | SMALL,
    {"prompt": "a dog", "seed": 14, "negative_prompt": "ugly"} | SMALL,
]


def test_compatible_jobs_run_as_one_call_each_with_its_own_pixels_and_events(
    stack: Stack, store: OpRunner, redis_client: redis.Redis
) -> None:
    set_batch_size(store, 5)
    with stack.http() as client:
        batched = run_queued(stack, client, INPUTS)
        assert [job["status"] for job in batched] == ["succeeded"] * 4
        log = (stack.logs / "worker.log").read_text()
        partners = ", ".join(job["id"] for job in batched[1:])
        assert f"batched with 3 more job(s): {partners}" in log
        for job in batched:
            assert steps_reported(redis_client, job["id"]) == [1, 2, 3, 4]
            assert event_types(redis_client, job["id"]).count("completed") == 1
        set_batch_size(store, 1)
        alone = run_queued(stack, client, INPUTS)
        for mine, reference in zip(batched, alone, strict=True):
            assert len(mine["output"]) == len(reference["output"])
            for url, other in zip(mine["output"], reference["output"], strict=True):
                difference = np.abs(pixels(client, url) - pixels(client, other)).max()
                assert difference <= ROUNDING_LEVELS, mine["input"]


def test_a_job_canceled_mid_batch_ends_at_once_and_the_others_run_on(
    stack: Stack, store: OpRunner, redis_client: redis.Redis
) -> None:
    set_batch_size(store, 4)
    with stack.http() as client:
        ids = submit_all(client, [{"prompt": f"job {i}", "seed": i} | LONG for i in range(4)])
        worker = stack.start_worker()
        try:
            wait_until(lambda: steps_reported(redis_client, ids[1]), 120, "the batch to step")
            assert client.post(f"/v1/predictions/{ids[1]}/cancel").status_code == 200
            canceled = wait_status(client, ids[1], "canceled")
            others = [client.get(f"/v1/predictions/{i}").json() for i in ids if i != ids[1]]
            assert [job["status"] for job in others] == ["processing"] * 3, "not at the end"
            assert canceled["output"] is None
            done = [wait_terminal(client, job_id) for job_id in ids]
        finally:
            stop(worker)
            stack.workers.remove(worker)
    assert [job["status"] for job in done] == ["succeeded", "canceled", "succeeded", "succeeded"]
    reported = steps_reported(redis_client, ids[1])
    assert reported and max(reported) < 150, "it stopped contributing"


def test_a_batch_whose_worker_is_killed_is_recovered_whole(
    stack: Stack, store: OpRunner, redis_client: redis.Redis
) -> None:
    set_batch_size(store, 4)
    with stack.http() as client:
        ids = submit_all(client, [{"prompt": f"job {i}", "seed": i} | LONG for i in range(4)])
        worker = stack.start_worker()
        wait_until(lambda: all(steps_reported(redis_client, i) for i in ids), 120, "the batch")
        signal_ = client.get(f"/v1/scaling/metrics/{MODEL}").json()
        assert signal_["in_flight"] == 4 and signal_["workers"] == 1, signal_
        os.killpg(os.getpgid(worker.pid), signal.SIGKILL)  # Celery parent and child
        worker.wait(timeout=30)
        stack.workers.remove(worker)
        wait_until(
            lambda: all(
                client.get(f"/v1/predictions/{i}").json()["status"] == "starting" for i in ids
            ),
            60,
            "recovery to requeue every job of the batch",
        )
        worker = stack.start_worker()
        try:
            done = [wait_terminal(client, job_id, timeout=300) for job_id in ids]
        finally:
            stop(worker)
            stack.workers.remove(worker)
    assert [job["status"] for job in done] == ["succeeded"] * 4
    assert [job["attempt"] for job in done] == [2] * 4
    assert all(set(event_types(redis_client, i)) & {"requeued"} for i in ids)
