"""The Grafana dashboard against a real Prometheus: every panel query parses and runs, and with
Prometheus scraping a real stack's /metrics (with the metrics token), the core panels show the
jobs that ran."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from cli.embedded_redis import EmbeddedRedis
from tests.dashboard import dashboard, queries, runnable
from tests.helpers import Stack, started_stack
from tests.prometheus import BAD_DATA, Prometheus, Result, running_prometheus

ADMIN_KEY = "dashboard-test-admin-key-0123456789abcdef"
METRICS_TOKEN = "dashboard-test-metrics-token-0123456789ab"
SMALL = {"width": 64, "height": 64, "num_inference_steps": 4}
JOBS = 3


def positive(shown: list[float]) -> bool:
    return all(v > 0 for v in shown)


def some_positive(shown: list[float]) -> bool:
    """A panel by route or state: every series counted, at least one above zero."""
    return all(v >= 0 for v in shown) and any(v > 0 for v in shown)


def counted(shown: list[float]) -> bool:
    return all(v >= 0 for v in shown)


def share(shown: list[float]) -> bool:
    return all(0 < v <= 1 for v in shown)


def all_succeeded(shown: list[float]) -> bool:
    return shown == [1.0]


# Panels that must show the jobs that ran: panel title -> what its series' values satisfy
# (none of them NaN: every rate and quantile has samples to work on).
CORE_PANELS: dict[str, Callable[[list[float]], bool]] = {
    "Requests / s": positive,
    "Request volume by route": some_positive,
    "Job success rate": all_succeeded,
    "Success rate": share,
    "HTTP 2xx rate": share,
    "HTTP latency": positive,
    "End-to-end latency": positive,
    "Queue wait": counted,
    "Predict time": positive,
    "Jobs submitted": positive,
    "Jobs finished by status": positive,
    "Queued jobs": counted,
    "Queue depth": counted,
    "Workers": positive,
    "Workers by state": some_positive,
    "GPU busy ÷ held": share,
}
SUCCEEDED = 'sum(sdq_jobs_finished_total{model="sdq/tiny", status="succeeded"})'


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """Prometheus with nothing to scrape: it parses and runs the queries on no data."""
    with running_prometheus(tmp_path_factory.mktemp("prometheus")) as running:
        yield running


def test_a_broken_query_is_caught(prometheus: Prometheus) -> None:
    complaint = prometheus.check("sum(rate(sdq_http_requests_total[1m])")
    assert complaint is not None and complaint.startswith(BAD_DATA)


@pytest.mark.parametrize(("title", "expr"), queries())
def test_prometheus_accepts_every_panel_query(
    prometheus: Prometheus, title: str, expr: str
) -> None:
    assert prometheus.check(runnable(expr)) is None, title


def test_the_model_variable_reads_a_metric_prometheus_accepts(prometheus: Prometheus) -> None:
    [model] = [v for v in dashboard()["templating"]["list"] if v["name"] == "model"]
    metric, label = model["query"].removeprefix("label_values(").removesuffix(")").split(", ")
    assert prometheus.check(metric) is None
    assert label == "model"


@pytest.fixture(scope="module")
def measured(
    redis_server: EmbeddedRedis,
    data_dir: Path,
    tiny_model_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Stack, Prometheus]]:
    """A stack of its own (keys on, every process writing to one multiprocess folder, as `sdq
    up` runs) and a Prometheus scraping its /metrics every second with the metrics token."""
    env = {
        "SDQ_ADMIN_KEY": ADMIN_KEY,
        "SDQ_METRICS_TOKEN": METRICS_TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("multiproc")),
    }
    logs = tmp_path_factory.mktemp("logs")
    with started_stack(redis_server.url, data_dir, logs, **env) as stack:
        folder = tmp_path_factory.mktemp("prometheus")
        with running_prometheus(folder, f"{stack.url}/metrics", METRICS_TOKEN) as prometheus:
            yield stack, prometheus


def run_job(client: httpx.Client, prompt: str) -> None:
    response = client.post(
        "/v1/predictions",
        json={"model": "sdq/tiny", "input": {"prompt": prompt, **SMALL}},
        headers={"Prefer": "wait"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "succeeded", response.text


def values(result: Result) -> list[float]:
    return [float(sample["value"][1]) for sample in result]


def reached(prometheus: Prometheus, expr: str, least: float) -> float:
    """Waits until Prometheus has scraped `expr` at `least` or more; its value then."""
    result = prometheus.wait_for(expr, lambda r: bool(r) and values(r)[0] >= least)
    return values(result)[0]


def test_the_core_panels_show_the_jobs_that_ran(measured: tuple[Stack, Prometheus]) -> None:
    stack, prometheus = measured
    # Prometheus gets in with the metrics token
    prometheus.wait_for('up{job="sdq"}', lambda r: values(r) == [1.0])
    with stack.http() as client:
        # one job first, so the job series exist before the measured ones and rates see them
        run_job(client, "a warm-up dog")
        before = reached(prometheus, SUCCEEDED, 1)
        for number in range(JOBS):
            run_job(client, f"dog {number}")
    after = reached(prometheus, SUCCEEDED, before + JOBS)
    assert after - before == JOBS
    assert prometheus.label_values("model", "sdq_jobs_submitted_total") == ["sdq/tiny"]
    shown: dict[str, list[float]] = {title: [] for title in CORE_PANELS}
    for title, expr in queries():
        result = prometheus.query(runnable(expr))  # no panel query fails on real data
        if title in CORE_PANELS:
            shown[title] += values(result)
    for title, check in CORE_PANELS.items():
        assert shown[title], f"{title}: no data"
        assert not any(map(math.isnan, shown[title])), (title, shown[title])
        assert check(shown[title]), (title, shown[title])
