"""Redis going away and coming back: 503 in each dialect's JSON shape with Retry-After, one log
line when it goes and one when it is back, and service again without restarting the API. Each test
runs its own redis-server and its own API process, on real loopback ports."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli.embedded_redis import EmbeddedRedis, free_port
from sdq.job import new_job_id
from tests.helpers import Stack, print_logs, process_env, start, wait_until

REAPER_INTERVAL_S = 0.5  # the recovery loop's pass, which notices the outage

# (method, path, body, how the dialect's error names its message)
CALLS = [
    ("POST", "/v1/predictions", {"model": "sdq/tiny", "input": {"prompt": "x"}}, "detail"),
    ("GET", f"/v1/predictions/{new_job_id()}", None, "detail"),
    ("GET", "/v1/predictions", None, "detail"),
    ("POST", "/sdapi/v1/txt2img", {"prompt": "x", "steps": 2}, "detail"),
    ("POST", "/v1/images/generations", {"prompt": "x"}, "error"),
]


@pytest.fixture
def outage_stack(tmp_path: Path, data_dir: Path) -> Iterator[tuple[Stack, EmbeddedRedis]]:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False)
    port = free_port()
    env = process_env(server.url, data_dir, port, SDQ_REAPER_INTERVAL_S=str(REAPER_INTERVAL_S))
    running = Stack(server.url, data_dir, port, tmp_path, env)
    try:
        yield running, server
    except BaseException:
        print_logs(tmp_path)
        raise
    finally:
        running.stop_all()
        server.stop()


def api_log(stack: Stack) -> str:
    return (stack.logs / "api.log").read_text()


def logged(stack: Stack, text: str) -> bool:
    return text in api_log(stack)


def assert_unavailable(client: httpx.Client) -> None:
    for method, path, body, message in CALLS:
        response = client.request(method, path, json=body)
        assert response.status_code == 503, (path, response.text)
        assert response.headers["content-type"] == "application/json", path
        assert response.headers["retry-after"] == "5", path
        assert response.headers["x-request-id"], path
        error = response.json()
        text = error["error"]["message"] if message == "error" else error["detail"]
        assert "Redis" in text, (path, error)
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/json"


def test_an_outage_is_503_with_retry_after_and_two_log_lines(
    outage_stack: tuple[Stack, EmbeddedRedis],
) -> None:
    stack, server = outage_stack
    server.start()
    stack.start_api()
    assert logged(stack, f"Redis reached at {server.url}")
    with stack.http() as client:
        server.stop()
        assert_unavailable(client)
        wait_until(lambda: logged(stack, "Redis unreachable since"), 30, "the outage log line")
        time.sleep(REAPER_INTERVAL_S * 6)  # several more failing passes, which log nothing
        assert_unavailable(client)

        server.start()  # the same port: the API reconnects by itself
        wait_until(lambda: client.get("/readyz").status_code == 200, 30, "readiness again")
        created = client.post(
            "/v1/predictions", json={"model": "sdq/tiny", "input": {"prompt": "after"}}
        )
        assert created.status_code == 201, created.text
        prediction_id = created.json()["id"]
        assert client.get(f"/v1/predictions/{prediction_id}").status_code == 200
        assert client.post(f"/v1/predictions/{prediction_id}/cancel").status_code == 200
        wait_until(lambda: logged(stack, "Redis back after"), 30, "the recovery log line")
    log = api_log(stack)
    assert log.count("Redis unreachable since") == 1, log
    assert log.count("Redis back after") == 1, log
    assert "Traceback" not in log, log


def test_an_api_started_before_redis_says_so_and_serves_once_it_is_up(
    outage_stack: tuple[Stack, EmbeddedRedis],
) -> None:
    stack, server = outage_stack
    stack.api = start(["api"], stack.env, stack.logs / "api.log")
    with stack.http() as client:

        def answers() -> bool:
            try:
                return client.get("/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(answers, 60, "the API to answer /healthz")
        assert logged(stack, f"Redis not reachable yet at {server.url}")
        assert_unavailable(client)
        server.start()
        wait_until(lambda: client.get("/readyz").status_code == 200, 30, "readiness")
        listed = client.get("/v1/predictions")
        assert listed.status_code == 200, listed.text
    assert "Traceback" not in api_log(stack)
