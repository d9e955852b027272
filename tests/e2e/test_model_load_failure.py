"""A model that cannot load reaches the client: its cause in one line (worker log, `GET
/v1/models`), restarts spaced by a backoff the scaler names, its queued jobs failed with that
cause after too many failures in a row (webhooks fire), and new submits refused with 503."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from cli.embedded_redis import EmbeddedRedis, free_port
from sdq.store.model_health import ModelStatus, get_health
from sdq.store.ops import OpRunner
from tests.helpers import (
    Stack,
    print_logs,
    process_env,
    start,
    stop,
    wait_terminal,
    wait_until,
)
from tests.receiver import Receiver

MODEL = "bad/model"


@pytest.fixture
def not_a_model(tmp_path: Path) -> Path:
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "README.md").write_text("weights go here")
    return folder


@pytest.fixture
def failing_stack(
    redis_server: EmbeddedRedis, redis_client: redis.Redis, not_a_model: Path, tmp_path: Path
) -> Iterator[Stack]:
    """API, webhook sender and local scaler serving one model whose folder holds no model."""
    logs = tmp_path / "logs"
    logs.mkdir()
    data_dir = tmp_path / "data"
    port = free_port()
    env = process_env(
        redis_server.url,
        data_dir,
        port,
        SDQ_MODELS=json.dumps([{"id": MODEL, "source": str(not_a_model)}]),
        SDQ_MODEL_LOAD_MAX_FAILURES="2",
        SDQ_MODEL_LOAD_BACKOFF_S="8",  # a window the test cannot miss
        SDQ_MODEL_LOAD_BACKOFF_MAX_S="8",
        SDQ_SCALER_POLL_INTERVAL_S="0.5",
        HF_HUB_OFFLINE="1",
    )
    running = Stack(redis_server.url, data_dir, port, logs, env)
    try:
        running.start_api()
        running.start_webhooks()
        running.workers.append(start(["scaler"], env, logs / "scaler.log"))
        yield running
    except BaseException:
        print_logs(logs)
        raise
    finally:
        running.stop_all()


def worker_logs(stack: Stack) -> str:
    """What the scaler's local workers wrote: into the scaler's output, or files of their own."""
    files = [stack.logs / "scaler.log", *sorted((stack.data_dir / "logs").glob("worker-*.log"))]
    return "\n".join(f.read_text() for f in files if f.exists())


def test_a_model_that_cannot_load_fails_its_jobs_with_the_cause_and_refuses_new_ones(
    failing_stack: Stack, not_a_model: Path
) -> None:
    cause = f"{not_a_model} is not a diffusers folder: it has no model_index.json"
    receiver = Receiver().start()
    hook = receiver.script("/hook", 200)
    with failing_stack.http() as client:

        def model() -> dict[str, Any]:
            body: dict[str, Any] = client.get(f"/v1/models/{MODEL}").json()
            return body

        assert (model()["status"], model()["error"], model()["attempts"]) == ("available", None, 0)
        created = client.post(
            f"/v1/models/{MODEL}/predictions",
            json={
                "input": {"prompt": "dog"},
                "webhook": hook,
                "webhook_events_filter": ["completed"],
            },
        )
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]

        first = wait_until(lambda: model()["attempts"] >= 1 and model(), 120, "a failed load")
        assert (first["status"], first["error"]) == ("unavailable", cause)
        assert first["since"] is not None
        listed = client.get("/v1/models").json()["results"][0]
        assert (listed["status"], listed["error"]) == ("unavailable", cause)

        reason = wait_until(
            lambda: (
                "next try in" in (model()["scaling_reason"] or "") and model()["scaling_reason"]
            ),
            30,
            "the scaler to say it waits before the next load",
        )
        assert f"failed to load 1 time in a row ({cause})" in reason

        done = wait_terminal(client, job_id, timeout=120)
        assert done["status"] == "failed"
        assert done["error"] == (
            f"model {MODEL} could not be loaded (2 failed attempts in a row): {cause}"
        )
        assert model()["attempts"] >= 2
        assert model()["since"] == first["since"], "since: the first failure in a row"

        wait_until(lambda: receiver.requests, 60, "the completed webhook")
        delivered = json.loads(receiver.requests[0].body)
        assert (delivered["id"], delivered["status"]) == (job_id, "failed")
        assert cause in delivered["error"]

        refused = client.post(f"/v1/models/{MODEL}/predictions", json={"input": {"prompt": "x"}})
        assert refused.status_code == 503, refused.text
        assert cause in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) >= 1
        a1111 = client.post("/sdapi/v1/txt2img", json={"prompt": "x"})  # its first model: this
        assert a1111.status_code == 503 and cause in a1111.json()["detail"], a1111.text

    log = worker_logs(failing_stack)
    assert f"could not load model {MODEL}: {cause}" in log
    assert "Traceback" not in log, log[-6000:]


def test_an_uncached_hub_model_offline_says_so_in_one_line_and_in_the_store(
    redis_server: EmbeddedRedis, redis_client: redis.Redis, data_dir: Path, tmp_path: Path
) -> None:
    env = process_env(
        redis_server.url,
        data_dir,
        free_port(),
        SDQ_MODELS="stabilityai/sd-turbo",
        HF_HUB_OFFLINE="1",
        HF_HOME=str(tmp_path / "empty-hf-home"),
    )
    log = tmp_path / "worker.log"
    worker = start(["worker", "--model", "stabilityai/sd-turbo"], env, log)
    try:
        code = worker.wait(timeout=120)
    finally:
        stop(worker)
    output = log.read_text()
    cause = "stabilityai/sd-turbo is not in the local cache and HF_HUB_OFFLINE is set"
    assert code != 0, output
    assert f"could not load model stabilityai/sd-turbo: {cause}" in output
    assert "Traceback" not in output, output
    assert "does not appear to have a file named" not in output
    health = OpRunner(redis_client).run(get_health("stabilityai/sd-turbo"))
    assert (health.status, health.attempts, health.error) == (ModelStatus.UNAVAILABLE, 1, cause)


def test_sdq_up_says_what_it_will_load_and_warns_before_it_starts(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SDQ_", "HF_"))}
    env |= {"PYTHONUNBUFFERED": "1", "COLUMNS": "400", "HF_HUB_OFFLINE": "1"}
    env |= {"HF_HOME": str(tmp_path / "empty-hf-home")}
    models = ["sdq/tiny", f"x/y={empty}", "stabilityai/sd-turbo"]
    argv = ["up", "--port", str(free_port()), "--data-dir", str(tmp_path / "data")]
    log = tmp_path / "up.log"
    up = start([*argv, *(arg for m in models for arg in ("--model", m))], env, log)
    expected = [
        "sdq/tiny: built-in tiny model",
        f"warning: x/y: {empty} is not a diffusers folder: it has no model_index.json; "
        "its jobs will fail",
        "warning: stabilityai/sd-turbo: stabilityai/sd-turbo is not in the local cache and "
        "HF_HUB_OFFLINE is set; its jobs will fail",
    ]
    try:
        wait_until(lambda: "sdq is up" in log.read_text(), 120, "the stack to start")
    finally:
        stop(up)
    output = log.read_text()
    lines = output.splitlines()
    assert all(line in lines for line in expected), output
    assert output.index(expected[-1]) < output.index("sdq is up"), "checked before starting"
