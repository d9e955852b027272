"""`GET /metrics` over HTTP: under `sdq up` one scrape of the API shows every process's metrics
(the workers', the scaler's and the webhook sender's too); with keys on, it takes an admin key or
SDQ_METRICS_TOKEN and refuses client keys."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cli.embedded_redis import EmbeddedRedis, free_port
from tests.access_fixtures import BOOTSTRAP_SECRET, KEYED_ENV, bearer, create_key
from tests.helpers import start_up, started_api, wait_terminal, wait_until
from tests.receiver import Receiver

SYNTHETIC = "sdq/synthetic"
JOBS = 3
METRICS_TOKEN = "prometheus-scrape-token-0123456789abcdef"


def total(text: str, sample: str, **labels: str) -> float:
    """The sum of the named samples whose labels include `labels`."""
    return sum(
        found.value
        for family in text_string_to_metric_families(text)
        for found in family.samples
        if found.name == sample and labels.items() <= found.labels.items()
    )


def route_labels(text: str) -> set[str]:
    return {
        found.labels["route"]
        for family in text_string_to_metric_families(text)
        for found in family.samples
        if "route" in found.labels
    }


@pytest.fixture
def up_url(tmp_path: Path, up_log: Path) -> Iterator[tuple[str, Path]]:
    """`sdq up` serving the synthetic model (workers from zero), and its data dir."""
    data_dir = tmp_path / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    up = start_up(data_dir, port, up_log, SDQ_MODELS=SYNTHETIC, SDQ_SYNTHETIC_STEP_SECONDS="0.01")
    try:
        wait_until(lambda: _ready(url), 120, "sdq up to be ready")
        yield url, data_dir
    finally:
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=60) == 0


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_one_scrape_of_sdq_up_adds_up_every_process(up_url: tuple[str, Path]) -> None:
    url, data_dir = up_url
    receiver = Receiver().start()
    try:
        hook = receiver.script("/done", 200)
        with httpx.Client(base_url=url, timeout=90) as client:
            ids = []
            for index in range(JOBS):
                body = {"model": SYNTHETIC, "input": {"prompt": f"dog {index}", "width": 64,
                        "height": 64, "num_inference_steps": 2}}  # fmt: skip
                if index == 0:
                    body |= {"webhook": hook, "webhook_events_filter": ["completed"]}
                created = client.post("/v1/predictions", json=body)
                assert created.status_code == 201, created.text
                ids.append(created.json()["id"])
            for prediction_id in ids:
                assert wait_terminal(client, prediction_id)["status"] == "succeeded"
            wait_until(lambda: receiver.at("/done"), 60, "the completed webhook")

            def scraped() -> str | None:
                text = client.get("/metrics").text
                settled = (
                    total(text, "sdq_job_end_to_end_seconds_count", model=SYNTHETIC) == JOBS
                    and total(text, "sdq_webhook_deliveries_total", outcome="delivered") >= 1
                )
                return text if settled else None

            text = wait_until(scraped, 60, "the workers' and webhook sender's metrics", 0.5)
    finally:
        receiver.stop()

    assert list((data_dir / "metrics").glob("*.db")), "every process writes under DATA_DIR"
    # The API's own counts...
    assert total(text, "sdq_jobs_submitted_total", model=SYNTHETIC, dialect="native") == JOBS
    # ...the worker's (another process, whose files the API adds up)...
    assert total(text, "sdq_jobs_finished_total", model=SYNTHETIC, status="succeeded") == JOBS
    for histogram in ("sdq_job_queue_wait_seconds", "sdq_job_predict_seconds"):
        assert total(text, f"{histogram}_count", model=SYNTHETIC) == JOBS, histogram
    assert total(text, "sdq_worker_cold_start_seconds_count", model=SYNTHETIC) >= 1
    assert total(text, "sdq_gpu_busy_seconds_total", model=SYNTHETIC) > 0
    assert total(text, "sdq_gpu_held_seconds_total", model=SYNTHETIC) > 0
    # ...the scaler's and the webhook sender's...
    assert total(text, "sdq_scaler_decisions_total", model=SYNTHETIC, direction="up") >= 1
    assert total(text, "sdq_webhook_attempts_total", outcome="2xx") >= 1
    assert total(text, "sdq_webhook_delivery_seconds_count") >= 1
    # ...and the capacity gauges read from Redis.
    assert total(text, "sdq_queued_jobs", model=SYNTHETIC) == 0
    assert total(text, "sdq_workers", model=SYNTHETIC, state="idle") >= 1
    assert total(text, "sdq_desired_replicas", model=SYNTHETIC) >= 1
    # Requests are counted by route template, never by a prediction's id.
    get_one = {"route": "/v1/predictions/{prediction_id}", "method": "GET", "status_class": "2xx"}
    assert total(text, "sdq_http_requests_total", **get_one) >= JOBS
    assert not [route for route in route_labels(text) if any(i in route for i in ids)]


@pytest.fixture(scope="module")
def keyed_api(
    redis_server: EmbeddedRedis, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """The API with keys on and a metrics token; its URL and a client key's secret."""
    env = KEYED_ENV | {"SDQ_METRICS_TOKEN": METRICS_TOKEN}
    with started_api(redis_server.url, data_dir, tmp_path_factory.mktemp("logs"), **env) as api:
        with httpx.Client(base_url=api.url, headers=bearer(BOOTSTRAP_SECRET)) as admin:
            client_key = create_key(admin, "metrics-client", "client")["key"]
        yield api.url, client_key


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("nobody", "/metrics", 401),
        ("client", "/metrics", 403),
        ("unknown", "/metrics", 401),
        ("admin", "/metrics", 200),
        ("token", "/metrics", 200),
        ("token", "/v1/predictions", 401),  # the token reads /metrics and nothing else
    ],
)
def test_metrics_needs_an_admin_key_or_the_metrics_token(
    keyed_api: tuple[str, str], who: str, path: str, status: int
) -> None:
    url, client_key = keyed_api
    secrets = {
        "client": client_key,
        "unknown": "sdq_not-a-key-anybody-has-0123456789",
        "admin": BOOTSTRAP_SECRET,
        "token": METRICS_TOKEN,
    }
    headers = bearer(secrets[who]) if who in secrets else {}
    response = httpx.get(f"{url}{path}", headers=headers, timeout=30)
    assert response.status_code == status, response.text
    if status == 200:
        names = {family.name for family in text_string_to_metric_families(response.text)}
        assert {"sdq_http_requests", "sdq_auth_failures", "sdq_queued_jobs"} <= names


def test_refused_scrapes_are_counted_by_reason(keyed_api: tuple[str, str]) -> None:
    url, client_key = keyed_api

    def failures(reason: str) -> float:
        text = httpx.get(f"{url}/metrics", headers=bearer(METRICS_TOKEN), timeout=30).text
        return total(text, "sdq_auth_failures_total", reason=reason)

    for reason, headers in (("missing", {}), ("forbidden", bearer(client_key))):
        before = failures(reason)
        assert httpx.get(f"{url}/metrics", headers=headers, timeout=30).status_code >= 400
        assert failures(reason) == before + 1, reason
