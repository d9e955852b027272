"""The metric catalog keeps Prometheus' conventions and sdq's contract: `sdq_` names with their
unit and `_total` on counters, bounded labels only (never a job id, key or tenant)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from sdq import metrics
from sdq.metrics import CATALOG, SCRAPED, Spec

# The contract the dashboard and the docs are written against: name -> (kind, labels).
CONTRACT: dict[str, tuple[str, tuple[str, ...]]] = {
    "sdq_http_requests_total": ("counter", ("route", "method", "status_class")),
    "sdq_http_request_duration_seconds": ("histogram", ("route", "method")),
    "sdq_auth_failures_total": ("counter", ("reason",)),
    "sdq_jobs_submitted_total": ("counter", ("model", "dialect")),
    "sdq_jobs_refused_total": ("counter", ("model", "reason")),
    "sdq_jobs_finished_total": ("counter", ("model", "status")),
    "sdq_jobs_recovered_total": ("counter", ("model",)),
    "sdq_job_queue_wait_seconds": ("histogram", ("model",)),
    "sdq_job_predict_seconds": ("histogram", ("model",)),
    "sdq_job_end_to_end_seconds": ("histogram", ("model",)),
    "sdq_worker_cold_start_seconds": ("histogram", ("model",)),
    "sdq_worker_model_load_seconds": ("histogram", ("model",)),
    "sdq_worker_warmup_seconds": ("histogram", ("model",)),
    "sdq_queued_jobs": ("gauge", ("model",)),
    "sdq_in_flight_jobs": ("gauge", ("model",)),
    "sdq_workers": ("gauge", ("model", "state")),
    "sdq_desired_replicas": ("gauge", ("model",)),
    "sdq_scaler_decisions_total": ("counter", ("model", "direction")),
    "sdq_gpu_busy_seconds_total": ("counter", ("model",)),
    "sdq_gpu_held_seconds_total": ("counter", ("model",)),
    "sdq_webhook_deliveries_total": ("counter", ("event", "outcome")),
    "sdq_webhook_attempts_total": ("counter", ("outcome",)),
    "sdq_webhook_delivery_seconds": ("histogram", ()),
    "sdq_webhook_oldest_pending_seconds": ("gauge", ()),
    "sdq_files_swept_total": ("counter", ()),
}
# Unbounded values: each would make a time series of its own.
FORBIDDEN_LABELS = {"job_id", "prediction_id", "id", "key", "key_id", "tenant", "worker_id"}
JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)


def test_the_catalog_is_the_contract() -> None:
    assert {spec.name: (spec.kind, spec.labels) for spec in CATALOG} == CONTRACT
    assert len({spec.name for spec in CATALOG}) == len(CATALOG), "a name declared twice"


@pytest.mark.parametrize("spec", CATALOG, ids=lambda spec: spec.name)
def test_each_metric_follows_the_naming_conventions(spec: Spec) -> None:
    assert spec.name.startswith("sdq_")
    assert spec.name == spec.name.lower()
    assert spec.help.strip(), "every metric says what it counts"
    assert not FORBIDDEN_LABELS & set(spec.labels)
    if spec.kind == "counter":
        assert spec.name.endswith("_total")
    else:
        assert not spec.name.endswith("_total")
    if spec.kind == "histogram":
        assert spec.name.endswith("_seconds")
        assert list(spec.buckets) == sorted(spec.buckets) and spec.buckets
    if "seconds" in spec.name:
        assert spec.name.endswith(("_seconds", "_seconds_total"))


@pytest.mark.parametrize(
    ("name", "buckets"),
    [
        ("sdq_job_queue_wait_seconds", JOB_BUCKETS),
        ("sdq_job_predict_seconds", JOB_BUCKETS),
        ("sdq_job_end_to_end_seconds", JOB_BUCKETS),
        ("sdq_worker_cold_start_seconds", (1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)),
    ],
)
def test_job_histograms_have_buckets_for_seconds_long_jobs(
    name: str, buckets: tuple[float, ...]
) -> None:
    assert next(spec for spec in CATALOG if spec.name == name).buckets == buckets


def test_capacity_gauges_are_computed_at_scrape_time_not_recorded() -> None:
    assert {spec.kind for spec in SCRAPED} == {"gauge"}
    assert {spec.name for spec in CATALOG if spec.kind == "gauge"} == {s.name for s in SCRAPED}


@pytest.mark.parametrize(
    ("status", "label"), [(200, "2xx"), (204, "2xx"), (307, "3xx"), (401, "4xx"), (503, "5xx")]
)
def test_status_class(status: int, label: str) -> None:
    assert metrics.status_class(status) == label


@pytest.mark.parametrize(
    ("current", "desired", "direction"), [(0, 1, "up"), (3, 1, "down"), (2, 2, "hold")]
)
def test_scaler_decision_direction(current: int, desired: int, direction: str) -> None:
    labels = {"model": "test/model", "direction": direction}
    before = REGISTRY.get_sample_value("sdq_scaler_decisions_total", labels) or 0.0
    metrics.scaler_decision("test/model", current, desired)
    assert REGISTRY.get_sample_value("sdq_scaler_decisions_total", labels) == before + 1
