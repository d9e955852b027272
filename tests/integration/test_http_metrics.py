"""The API's HTTP metrics on the real app and Redis: each answer is counted under its route
template, never its path (ids would make a series each), refused ones included; `/metrics`
serves them in Prometheus' text format."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from starlette.testclient import TestClient

from api.app import create_app
from sdq.settings import Settings

ADMIN_KEY = "metrics-test-admin-key-0123456789abcdefgh"
IDS = ("abc123", "other-id", "synthetic", "no/such")  # path parts no route label may carry


def requests_counted(route: str, method: str, status_class: str) -> float:
    labels = {"route": route, "method": method, "status_class": status_class}
    return REGISTRY.get_sample_value("sdq_http_requests_total", labels) or 0.0


@pytest.fixture(params=["open", "keys"])
def client(request: pytest.FixtureRequest, redis_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The app on loopback, open or with keys (then calls without a key are refused before
    routing)."""
    settings = Settings(
        redis_url=redis_url,
        data_dir=tmp_path,
        models="sdq/synthetic",
        admin_key=SecretStr(ADMIN_KEY) if request.param == "keys" else None,
    )
    with TestClient(create_app(settings, redis_url), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("GET", "/v1/predictions/abc123", "/v1/predictions/{prediction_id}"),
        ("GET", "/v1/predictions/other-id", "/v1/predictions/{prediction_id}"),
        ("POST", "/v1/predictions/abc123/cancel", "/v1/predictions/{prediction_id}/cancel"),
        ("GET", "/v1/models/sdq/synthetic", "/v1/models/{owner}/{name}"),
        ("GET", "/healthz", "/healthz"),
        ("GET", "/no/such/path", "unmatched"),
        ("BREW", "/healthz", "/healthz"),  # a made-up method: counted as `other`
    ],
)
def test_each_request_is_counted_under_its_route_template(
    client: TestClient, method: str, path: str, route: str
) -> None:
    response = client.request(method, path)
    counted_method = method if method != "BREW" else "other"
    status_class = f"{response.status_code // 100}xx"
    before = requests_counted(route, counted_method, status_class)
    client.request(method, path)
    assert requests_counted(route, counted_method, status_class) == before + 1
    routes = {sample.labels.get("route", "") for f in REGISTRY.collect() for sample in f.samples}
    assert not [route for route in routes if any(part in route for part in IDS)], routes


def test_metrics_answers_in_the_text_format_with_the_capacity_gauges(client: TestClient) -> None:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"sdq_http_requests", "sdq_queued_jobs", "sdq_workers"} <= names
