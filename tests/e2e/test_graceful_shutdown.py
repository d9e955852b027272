"""SIGTERM drains a real `sdq api` process: its open event stream ends with a `retry:` and resumes
on another API process with no event lost or repeated; a `Prefer: wait` in flight gets its finished
prediction; meanwhile /readyz answers 503, /healthz 200, and a new call on a kept-alive connection
503 with Retry-After; the process exits 0. At the end of a short grace the calls still waiting are
answered: `Prefer: wait` with the prediction as it is, an A1111 call with 503 naming it; a second
SIGTERM ends the grace at once."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis

from cli.client import SdqClient
from cli.embedded_redis import EmbeddedRedis, free_port
from sdq.store import redis_keys as keys
from tests.helpers import (
    Stack,
    process_env,
    start,
    started_api,
    stop,
    stream_entries,
    wait_until,
)

SYNTHETIC = "sdq/synthetic"
# 150 steps of 0.08 s: a job runs for about 12 s, the time the checks of the drain need.
ENV = {"SDQ_MODELS": f"{SYNTHETIC},sdq/tiny", "SDQ_SYNTHETIC_STEP_SECONDS": "0.08"}
LONG = {"width": 64, "height": 64, "num_inference_steps": 150}


@pytest.fixture(scope="module")
def replica(
    redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The API that stays up (the other replica) and one synthetic worker."""
    data_dir, logs = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("logs")
    with started_api(redis_server.url, data_dir, logs, **ENV) as stack:
        stack.start_worker(SYNTHETIC)
        with stack.http() as client:
            wait_until(
                lambda: client.get(f"/v1/models/{SYNTHETIC}").json()["workers"] >= 1,
                60,
                "the synthetic worker to report ready",
            )
        yield stack


@contextlib.contextmanager
def draining_api(stack: Stack, grace_s: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Another API process on the same Redis, with its own shutdown grace."""
    port = free_port()
    env = process_env(stack.redis_url, stack.data_dir, port, **ENV, SDQ_SHUTDOWN_GRACE_S=grace_s)
    process = start(["api"], env, stack.logs / f"api-{port}.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

            def ready() -> bool:
                try:
                    return client.get("/readyz").status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(ready, 60, "the API to drain to answer /readyz")
        yield process, port
    finally:
        stop(process)


def job_with_prompt(client: httpx.Client, prompt: str, status: str) -> str:
    """The id of the job made with this prompt once it has this status."""

    def found() -> str | None:
        for job in client.get("/v1/predictions", params={"limit": 100}).json()["results"]:
            if job["input"].get("prompt") == prompt and job["status"] == status:
                return str(job["id"])
        return None

    job_id: str = wait_until(found, 60, f"a {status} job with prompt {prompt!r}", 0.1)
    return job_id


def event_ids(lines: list[str]) -> list[str]:
    return [line.removeprefix("id:").strip() for line in lines if line.startswith("id:")]


def test_drain_ends_streams_for_resumption_elsewhere_and_lets_waits_finish(replica: Stack) -> None:
    prompt = f"drain-{uuid.uuid4().hex}"
    with (
        draining_api(replica, grace_s="120") as (process, port),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as drained,
        ThreadPoolExecutor(1) as pool,
    ):
        body = {"input": {"prompt": prompt, **LONG}}
        headers = {"Prefer": "wait=60"}
        path = f"/v1/models/{SYNTHETIC}/predictions"
        waited = pool.submit(drained.post, path, json=body, headers=headers)
        job_id = job_with_prompt(drained, prompt, "processing")

        kept = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        kept.request("GET", "/healthz")
        assert kept.getresponse().read() and kept.sock is not None
        kept_socket = kept.sock

        seen: list[str] = []
        with drained.stream("GET", f"/v1/predictions/{job_id}/stream") as stream:
            lines = stream.iter_lines()
            for line in lines:
                seen.append(line)
                if line.startswith("id:"):
                    break
            os.kill(process.pid, signal.SIGTERM)
            seen.extend(lines)  # the stream ends, cleanly
        assert any(line.startswith("retry:") for line in seen), seen
        assert "event: completed" not in seen, "the job was still running"

        # During the drain: a new call on the kept-alive connection is refused, in this API's shape.
        kept.request("GET", "/v1/predictions")
        assert kept.sock is kept_socket, "the same connection carried it"
        refused = kept.getresponse()
        assert refused.status == 503
        assert refused.getheader("Retry-After") == "1"
        assert refused.getheader("Connection") == "close"
        assert json.loads(refused.read())["status"] == 503
        kept.close()
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 503
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200

        # The client resumes on the other replica from the last event it got.
        resumed: list[str] = []
        last = event_ids(seen)[-1]
        with (
            replica.http() as other,
            other.stream(
                "GET", f"/v1/predictions/{job_id}/stream", headers={"Last-Event-ID": last}
            ) as stream,
        ):
            for line in stream.iter_lines():
                resumed.append(line)
                if line == "event: completed":
                    break
        every = [entry_id for entry_id, _ in stream_entries(redis_client(replica), events(job_id))]
        assert event_ids(seen) + event_ids(resumed) == every, "no event lost or repeated"

        answer = waited.result(timeout=120)
        assert answer.status_code == 201 and answer.json()["status"] == "succeeded", answer.text
        assert process.wait(timeout=60) == 0


def test_at_the_end_of_the_grace_waiting_calls_are_answered(replica: Stack) -> None:
    prompt = f"grace-{uuid.uuid4().hex}"
    with (
        draining_api(replica, grace_s="1") as (process, port),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as drained,
        ThreadPoolExecutor(2) as pool,
        replica.http() as other,
    ):
        body = {"input": {"prompt": prompt, **LONG}}
        path = f"/v1/models/{SYNTHETIC}/predictions"
        waited = pool.submit(drained.post, path, json=body, headers={"Prefer": "wait=60"})
        wait_job = job_with_prompt(other, prompt, "processing")
        a1111_prompt = f"{prompt}-a1111"
        a1111_body = {"prompt": a1111_prompt, "steps": 150, "width": 64, "height": 64}
        a1111 = pool.submit(drained.post, "/sdapi/v1/txt2img", json=a1111_body)
        a1111_job = job_with_prompt(other, a1111_prompt, "starting")

        os.kill(process.pid, signal.SIGTERM)

        answer = waited.result(timeout=60)
        assert answer.status_code == 201, answer.text
        assert answer.json()["id"] == wait_job
        assert answer.json()["status"] == "starting", "as an expired wait (Replicate's rule)"
        refused = a1111.result(timeout=60)
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        assert a1111_job in refused.json()["detail"]  # A1111's shape, naming the prediction
        assert process.wait(timeout=60) == 0
        for job_id in (wait_job, a1111_job):  # they kept running; free the worker
            assert other.get(f"/v1/predictions/{job_id}").json()["status"] != "canceled"
            other.post(f"/v1/predictions/{job_id}/cancel")


def test_a_second_signal_ends_the_grace_at_once(replica: Stack) -> None:
    prompt = f"twice-{uuid.uuid4().hex}"
    with (
        draining_api(replica, grace_s="600") as (process, port),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as drained,
        ThreadPoolExecutor(1) as pool,
        replica.http() as other,
    ):
        body = {"input": {"prompt": prompt, **LONG}}
        path = f"/v1/models/{SYNTHETIC}/predictions"
        waited = pool.submit(drained.post, path, json=body, headers={"Prefer": "wait=60"})
        job_id = job_with_prompt(other, prompt, "processing")
        os.kill(process.pid, signal.SIGTERM)
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 503,
            30,
            "the drain to begin",
        )
        os.kill(process.pid, signal.SIGTERM)  # the operator insists

        answer = waited.result(timeout=60)
        assert answer.status_code == 201 and answer.json()["status"] == "starting", answer.text
        assert process.wait(timeout=60) == -signal.SIGTERM  # uvicorn's way: killed by it
        other.post(f"/v1/predictions/{job_id}/cancel")


def redis_client(stack: Stack) -> redis.Redis:
    return redis.Redis.from_url(stack.redis_url, decode_responses=True)


def events(job_id: str) -> str:
    return keys.job_events(job_id)


def test_the_cli_client_resumes_a_cut_stream_where_it_stopped(replica: Stack) -> None:
    """`sdq submit`'s client follows a job's stream through a replica's shutdown: it retries the
    same address (another replica behind it, here started on the port the first one left) with
    `Last-Event-ID`, and gets every later event once, up to `completed`."""
    port = free_port()
    env = process_env(replica.redis_url, replica.data_dir, port, **ENV, SDQ_SHUTDOWN_GRACE_S="5")
    first = start(["api"], env, replica.logs / "api-first.log")
    client = SdqClient(f"http://127.0.0.1:{port}", timeout_s=30)
    try:
        client.wait_ready()
        prediction = client.create(SYNTHETIC, {"prompt": f"cli-{uuid.uuid4().hex}", **LONG})
        events: list[tuple[str, dict[str, object]]] = []
        with ThreadPoolExecutor(1) as pool:
            following = pool.submit(lambda: events.extend(client.stream(prediction)))
            wait_until(lambda: any(kind == "progress" for kind, _ in events), 60, "progress")
            os.kill(first.pid, signal.SIGTERM)
            assert first.wait(timeout=60) == 0
            second = start(["api"], env, replica.logs / "api-second.log")
            try:
                following.result(timeout=120)
            finally:
                stop(second)
    finally:
        client.close()
        stop(first)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "completed" and events[-1][1]["status"] == "succeeded", kinds[-5:]
    steps = [int(str(data["step"])) for kind, data in events if kind == "progress"]
    assert steps == sorted(set(steps)), "no progress event repeated or out of order"
    assert steps[-1] == LONG["num_inference_steps"], "followed to the last step"
