"""The metrics port of a worker, scaler or webhook sender, over real loopback HTTP: the token when
set (JSON refusals), Prometheus' text format, and under a multiprocess folder the metrics other
processes recorded there (a worker's prefork child)."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli.embedded_redis import free_port
from sdq import metrics
from sdq.metrics_access import MetricsAccess
from sdq.metrics_server import (
    MULTIPROC_ENV,
    MetricsServer,
    metrics_app,
    process_registry,
    serve,
    start_metrics_server,
)
from sdq.settings import Settings
from tests.helpers import REPO

TOKEN = "t0ken-" + "k" * 40
CHILD = """
from sdq import metrics
metrics.cold_start("sdq/tiny", 3.0)
metrics.scaler_decision("sdq/tiny", 0, 1)
"""


@pytest.fixture
def guarded() -> Iterator[str]:
    """A server of this process's metrics that wants TOKEN; its base URL."""
    server = serve(metrics_app(process_registry(None), MetricsAccess(TOKEN)), "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.close()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["none", "wrong", "other-scheme"],
)
def test_a_scrape_without_the_token_gets_401_in_json(guarded: str, headers: dict[str, str]) -> None:
    answer = httpx.get(f"{guarded}/metrics", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "SDQ_METRICS_TOKEN" in answer.json()["detail"]
    assert "sdq_" not in answer.text


def test_with_the_token_a_scrape_gets_the_text_format(guarded: str) -> None:
    metrics.scaler_decision("sdq/served-here", 2, 2)
    answer = httpx.get(f"{guarded}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE sdq_scaler_decisions_total counter" in answer.text
    assert 'sdq_scaler_decisions_total{direction="hold",model="sdq/served-here"}' in answer.text


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/", 404), ("GET", "/metrics/x", 404), ("POST", "/metrics", 405)],
)
def test_only_get_metrics_is_served(guarded: str, method: str, path: str, status: int) -> None:
    answer = httpx.request(method, guarded + path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json" and answer.json()["detail"]


def test_under_a_multiprocess_folder_it_serves_what_another_process_recorded(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {"PATH": "/usr/bin:/bin", MULTIPROC_ENV: str(folder)}
    subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=REPO, check=True, timeout=60)
    server = serve(metrics_app(process_registry(str(folder)), MetricsAccess(None)), "127.0.0.1", 0)
    try:
        text = httpx.get(f"http://127.0.0.1:{server.port}/metrics").text
    finally:
        server.close()
    assert 'sdq_worker_cold_start_seconds_count{model="sdq/tiny"} 1.0' in text
    assert 'sdq_worker_cold_start_seconds_sum{model="sdq/tiny"} 3.0' in text
    assert 'sdq_scaler_decisions_total{direction="up",model="sdq/tiny"} 1.0' in text


def started(settings: Settings) -> MetricsServer:
    server = start_metrics_server(settings, "test")
    assert server is not None
    return server


def test_the_setting_starts_it_where_it_says_with_the_token() -> None:
    port = free_port()
    server = started(Settings(metrics_port=port, metrics_token=TOKEN))
    try:
        assert server.port == port
        url = f"http://127.0.0.1:{port}/metrics"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    finally:
        server.close()


@pytest.mark.parametrize(
    ("settings", "logged"),
    [
        ({"metrics_port": None}, None),  # unset: no server, as under `sdq up`
        ({"metrics_host": "0.0.0.0"}, "without a token"),  # what is refused
    ],
    ids=["unset", "open-off-loopback"],
)
def test_no_server_when_unset_or_refused(
    settings: dict[str, object], logged: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    with caplog.at_level(logging.ERROR):
        chosen = Settings(**({"metrics_port": port} | settings))  # type: ignore[arg-type]
        assert start_metrics_server(chosen, "test") is None
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    if logged is None:
        assert errors == []
    else:
        [error] = errors
        assert logged in error
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics")


def test_a_busy_port_is_logged_and_the_process_runs_on(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.ERROR):
            assert start_metrics_server(Settings(metrics_port=port), "test") is None
    assert any("cannot serve metrics" in r.getMessage() for r in caplog.records)
