"""`sdq worker` and `sdq scaler` as processes with SDQ_METRICS_PORT, as the chart runs them in
their pods: each serves its own `/metrics` behind the metrics token; the worker's comes from its
prefork child through PROMETHEUS_MULTIPROC_DIR."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import redis

from cli.embedded_redis import EmbeddedRedis, free_port
from sdq.metrics_server import MULTIPROC_ENV
from tests.helpers import process_env, start, stop, wait_until

MODEL = "sdq/synthetic"
TOKEN = "scrape-" + "s" * 40


def scrape(port: int, token: str | None = TOKEN) -> httpx.Response | None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", headers=headers, timeout=5)
    except httpx.TransportError:
        return None


def sample(text: str, series: str) -> float | None:
    found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


@pytest.mark.parametrize(
    ("argv", "series"),
    [
        # recorded in the prefork child that loads the model, served by its parent
        (["worker", "--model", MODEL], f'sdq_worker_cold_start_seconds_count{{model="{MODEL}"}}'),
        (["scaler"], f'sdq_scaler_decisions_total{{direction="hold",model="{MODEL}"}}'),
    ],
    ids=["worker", "scaler"],
)
def test_the_process_serves_its_own_metrics_behind_the_token(
    argv: list[str],
    series: str,
    redis_server: EmbeddedRedis,
    redis_client: redis.Redis,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    redis_client.flushdb()  # no work queued by earlier modules: the scaler holds at zero
    port = free_port()
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = process_env(
        redis_server.url, data_dir, free_port(),
        SDQ_MODELS=MODEL, SDQ_METRICS_PORT=str(port), SDQ_METRICS_TOKEN=TOKEN,
        **({MULTIPROC_ENV: str(folder)} if argv[0] == "worker" else {}),
    )  # fmt: skip
    log = tmp_path / "process.log"
    process = start(argv, env, log)
    try:

        def seen() -> float | None:
            assert process.poll() is None, log.read_text()[-3000:]
            answer = scrape(port)
            return sample(answer.text, series) if answer and answer.status_code == 200 else None

        assert wait_until(seen, 120, series) >= 1
        refused = scrape(port, token=None)
        assert refused is not None and refused.status_code == 401
        assert refused.json()["detail"] and series not in refused.text
    finally:
        stop(process)
    assert process.returncode == 0, log.read_text()[-3000:]
