"""The chart's monitoring: scrape annotations on the API pods, the metrics token in the auth
Secret and the API's environment, the ServiceMonitor and the Grafana dashboard's ConfigMap (both
off by default), and a dashboard that reads only sdq's metrics, filtered by the chosen models."""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Any
from unittest import mock

import kubernetes_validate
import pytest

from api.browser_guards import host_refusal
from sdq.metrics import CATALOG
from sdq.settings import Settings
from tests.chart.pods import container_env, only_container
from tests.chart.render import (
    CHART,
    KUBERNETES_VERSION,
    NAMESPACE,
    RELEASE,
    named,
    notes,
    objects,
    refusal,
    render,
    run_helm,
)
from tests.dashboard import DASHBOARD, dashboard, labels_used, metric_names, queries
from tests.fake_kubernetes import FakeKubernetes, serving

API = f"{RELEASE}-api"
AUTH_SECRET = f"{RELEASE}-auth"
DASHBOARD_MAP = f"{RELEASE}-dashboard"
MONITOR = ("--set", "metrics.serviceMonitor.enabled=true")
BOARD = ("--set", "metrics.dashboard.enabled=true")
BOTH = (*MONITOR, *BOARD)
# An operator's own Secret for the admin key (auth.existingSecret), with or without the token.
THEIRS = ("--set", "auth.existingSecret=sdq-admin", "--set", "auth.existingSecretKey=token")
# case -> (values, the Secret and key holding the metrics token, or None when auth is off)
TOKEN_CASES: dict[str, tuple[tuple[str, ...], tuple[str, str] | None]] = {
    "generated": ((), (AUTH_SECRET, "metrics-token")),
    "existing-secret": (THEIRS, ("sdq-admin", "metrics-token")),
    "existing-secret-own-key": (
        (*THEIRS, "--set", "auth.metricsTokenKey=prometheus"),
        ("sdq-admin", "prometheus"),
    ),
    "off": (("--set", "auth.enabled=false"), None),
}
PER_TOKEN_CASE = pytest.mark.parametrize("case", TOKEN_CASES)
SPECS = {spec.name: spec for spec in CATALOG}


def api_pod(docs: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    template: dict[str, Any] = named(docs, "Deployment", API)["spec"]["template"]
    return template


def env_entries(docs: tuple[dict[str, Any], ...]) -> dict[str, dict[str, Any]]:
    container = only_container(named(docs, "Deployment", API))
    return {entry["name"]: entry for entry in container.get("env", [])}


def is_custom_resource(doc: dict[str, Any]) -> bool:
    api_version: str = doc["apiVersion"]
    return api_version.startswith(("monitoring.coreos.com/", "keda.sh/"))


def test_monitoring_objects_are_off_by_default_and_the_api_pods_invite_scraping() -> None:
    docs = render(())
    assert objects(docs, "ServiceMonitor") == []
    assert [d for d in objects(docs, "ConfigMap") if d["metadata"]["name"] == DASHBOARD_MAP] == []
    annotations = api_pod(docs)["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "7860"
    assert annotations["prometheus.io/path"] == "/metrics"
    quiet = api_pod(render(("--set", "metrics.scrapeAnnotations=false")))["metadata"]
    assert not any(key.startswith("prometheus.io/") for key in quiet["annotations"])


def test_the_scrape_port_annotation_follows_the_api_port() -> None:
    annotations = api_pod(render(("--set", "api.port=8000")))["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == "8000"


@pytest.mark.parametrize(
    ("values", "label", "namespace", "annotations"),
    [
        ((), ("grafana_dashboard", "1"), NAMESPACE, None),
        (
            (
                "--set", "metrics.dashboard.label=dashboards.example.com/grafana",
                "--set-string", "metrics.dashboard.labelValue=sdq",
                "--set", "metrics.dashboard.namespace=monitoring",
                "--set", "metrics.dashboard.annotations.grafana_folder=sdq",
            ),
            ("dashboards.example.com/grafana", "sdq"),
            "monitoring",
            {"grafana_folder": "sdq"},
        ),
    ],
)  # fmt: skip
def test_the_dashboard_configmap_carries_the_sidecars_label_and_the_dashboard(
    values: tuple[str, ...],
    label: tuple[str, str],
    namespace: str,
    annotations: dict[str, str] | None,
) -> None:
    config_map = named(render((*BOARD, *values)), "ConfigMap", DASHBOARD_MAP)
    key, value = label
    assert config_map["metadata"]["labels"][key] == value
    assert config_map["metadata"]["namespace"] == namespace
    assert config_map["metadata"].get("annotations") == annotations
    [(name, text)] = config_map["data"].items()
    assert name.endswith(".json")
    assert json.loads(text) == dashboard() and text == DASHBOARD.read_text()


@PER_TOKEN_CASE
def test_the_service_monitor_scrapes_the_api_services_http_port_at_metrics(case: str) -> None:
    values, token = TOKEN_CASES[case]
    docs = render((*MONITOR, *values, "--set", "metrics.serviceMonitor.labels.release=kps"))
    [monitor] = objects(docs, "ServiceMonitor")
    service = named(docs, "Service", API)
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kps"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert selector == service["spec"]["selector"]  # the API's pods, not the workers'
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in [port["name"] for port in service["spec"]["ports"]]
    assert endpoint["path"] == "/metrics"
    assert (endpoint["interval"], endpoint["scrapeTimeout"]) == ("30s", "10s")
    if token is None:
        assert "authorization" not in endpoint
        return
    name, key = token
    assert endpoint["authorization"] == {
        "type": "Bearer", "credentials": {"name": name, "key": key},
    }  # fmt: skip
    # the API reads the token from the very same Secret key
    ref = env_entries(docs)["SDQ_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"]) == token


@PER_TOKEN_CASE
def test_the_api_reads_the_metrics_token_from_the_auth_secret(case: str) -> None:
    values, token = TOKEN_CASES[case]
    docs = render(values)
    entries = env_entries(docs)
    if token is None:
        assert "SDQ_METRICS_TOKEN" not in entries
        return
    ref = entries["SDQ_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"]) == token
    # an operator's Secret may predate the token: the API then starts without it
    assert ref.get("optional", False) == case.startswith("existing-secret")


@PER_TOKEN_CASE
def test_the_install_notes_say_where_the_metrics_are_and_how_to_read_the_token(case: str) -> None:
    values, token = TOKEN_CASES[case]
    text = notes((*BOTH, *values))
    assert f"GET /metrics on the API port (the ServiceMonitor {API} scrapes it)" in text
    assert DASHBOARD_MAP in text
    if token is None:
        assert "metrics token" not in text
        return
    name, key = token
    assert f"get secret {name} -o jsonpath='{{.data.{key}}}' | base64 -d" in text


def test_the_generated_token_is_a_valid_sdq_metrics_token_apart_from_the_admin_key() -> None:
    docs = render(())
    secret = named(docs, "Secret", AUTH_SECRET)["data"]
    token = base64.b64decode(secret["metrics-token"]).decode()
    assert token != base64.b64decode(secret["admin-key"]).decode()
    env = container_env(docs, only_container(named(docs, "Deployment", API)), f"{API}-0")
    assert env["SDQ_METRICS_TOKEN"] == token
    with mock.patch.dict(os.environ, env, clear=True):
        metrics_token = Settings().metrics_token
    assert metrics_token is not None and metrics_token.get_secret_value() == token
    # a second install gets another one
    other = named(render(("--set", "api.replicas=3")), "Secret", AUTH_SECRET)["data"]
    assert other["metrics-token"] != secret["metrics-token"]


@pytest.mark.parametrize(
    "live",
    [
        {"admin-key": "a2VwdC1hZG1pbi1rZXktb2YtYXQtbGVhc3QtMzItY2hhcmFjdGVycw=="},
        {
            "admin-key": "a2VwdC1hZG1pbi1rZXktb2YtYXQtbGVhc3QtMzItY2hhcmFjdGVycw==",
            "metrics-token": "a2VwdC1tZXRyaWNzLXRva2VuLW9mLWF0LWxlYXN0LTMyLWNoYXJhY3RlcnM=",
        },
    ],
    ids=["from-a-release-without-a-token", "with-a-token"],
)
def test_an_upgrade_keeps_the_admin_key_and_the_token_and_adds_a_token_if_missing(
    live: dict[str, str], tmp_path: Path
) -> None:
    fake = FakeKubernetes(namespace=NAMESPACE, secrets={AUTH_SECRET: live})
    with serving(fake):
        kubeconfig = fake.kubeconfig(tmp_path / "kubeconfig")
        rendered = render(("--dry-run=server", "--kubeconfig", str(kubeconfig)))
    data = named(rendered, "Secret", AUTH_SECRET)["data"]
    assert data["admin-key"] == live["admin-key"]
    assert len(base64.b64decode(data["metrics-token"])) >= 32
    if "metrics-token" in live:
        assert data["metrics-token"] == live["metrics-token"]


@pytest.mark.parametrize(
    "values",
    [
        ("--set", "api.ingress.enabled=true", "--set", "api.ingress.hosts={sdq.example.com}"),
        ("--set", "api.allowedHosts={api.example.com}"),
    ],
    ids=["ingress-hosts", "explicit"],
)
def test_prometheus_scraping_a_pod_by_its_ip_passes_the_apis_host_allowlist(
    values: tuple[str, ...],
) -> None:
    """A ServiceMonitor (or a pod annotation) scrapes each API pod at its IP, so the Host it
    sends is `POD_IP:PORT`, as for the probes: /metrics must pass the allowlist too (it has its
    own check: the token or an admin key)."""
    docs = render((*MONITOR, *values))
    env = container_env(docs, only_container(named(docs, "Deployment", API)), f"{API}-0")
    with mock.patch.dict(os.environ, env, clear=True):
        hosts = Settings().allowed_hosts
    assert hosts, "the allowlist is on"
    assert host_refusal("/metrics", "10.244.1.7:7860", hosts) is None
    assert host_refusal("/v1/models", "10.244.1.7:7860", hosts) is not None


def test_with_everything_on_the_chart_lints_and_its_objects_are_valid_kubernetes() -> None:
    result = run_helm("lint", "--strict", str(CHART), "--namespace", NAMESPACE, *BOTH, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    docs = render(BOTH)
    assert objects(docs, "ServiceMonitor")
    for doc in docs:
        if not is_custom_resource(doc):
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--set", "metrics.serviceMonitor.interval=soon"), "interval"),
        (("--set", "metrics.dashboard.label="), "label"),
        (("--set", "metrics.grafana=true"), "grafana"),
        (("--set", "auth.metricsTokenKey="), "metricsTokenKey"),
        (("--set", "metrics.podMonitor.interval=soon"), "interval"),
        (("--set", "metrics.pods.port=0"), "port"),
        (("--set", "metrics.pods.scrape=true"), "scrape"),
    ],
)
def test_bad_monitoring_values_are_refused_with_the_field_named(
    args: tuple[str, ...], message: str
) -> None:
    assert message in refusal(args)


def test_the_dashboard_picks_its_data_source_and_models() -> None:
    board = dashboard()
    assert board["schemaVersion"] >= 39 and board["uid"] and board["title"]
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    model = variables["model"]
    assert model["query"] == "label_values(sdq_jobs_submitted_total, model)"
    assert model["includeAll"] and model["multi"] and model["allValue"] == ".*"
    for title, _ in queries(board):
        assert title


@pytest.mark.parametrize(("title", "expr"), queries())
def test_every_query_reads_sdqs_metrics_with_their_labels(title: str, expr: str) -> None:
    """Only metrics sdq declares (sdq.metrics.CATALOG), only labels they carry; metrics with a
    model label follow the dashboard's model choice; counters go through rate windows Grafana
    sizes ($__rate_interval)."""
    names = metric_names(expr)
    assert names and names <= SPECS.keys(), f"{title}: unknown {names - SPECS.keys()}"
    known = {"le"} | {label for name in names for label in SPECS[name].labels}
    assert labels_used(expr) <= known, f"{title}: {expr}"
    if any("model" in SPECS[name].labels for name in names):
        assert expr.count('model=~"$model"') == expr.count("sdq_"), f"{title}: {expr}"
    assert set(re.findall(r"\[([^\]]*)\]", expr)) <= {"$__rate_interval"}, f"{title}: {expr}"


LATENCY_PANELS = ("HTTP latency", "HTTP P95 latency by route")


def latency_routes(expr: str) -> tuple[re.Pattern[str], str]:
    """The route regex a latency query leaves out, and the route it adds back (GET only)."""
    [excluded] = re.findall(r'route!~"([^"]+)"', expr)
    [kept] = re.findall(r'route="([^"]+)", method!="POST"', expr)
    return re.compile(excluded), kept


@pytest.mark.parametrize(
    ("route", "method", "shown"),
    [
        ("/v1/predictions/{prediction_id}/stream", "GET", False),  # SSE: minutes long
        ("/v1/predictions", "POST", False),  # Prefer: wait holds it up to 60 s
        ("/v1/models/{owner}/{name}/predictions", "POST", False),
        ("/sdapi/v1/txt2img", "POST", False),  # synchronous: as long as the generation
        ("/sdapi/v1/img2img", "POST", False),
        ("/v1/images/generations", "POST", False),
        ("/v1/images/edits", "POST", False),
        ("/v1/predictions", "GET", True),  # the list answers at once
        ("/v1/predictions/{prediction_id}", "GET", True),
        ("/v1/predictions/{prediction_id}/cancel", "POST", True),
        ("/v1/models", "GET", True),
        ("/sdapi/v1/progress", "GET", True),
        ("/metrics", "GET", True),
        ("unmatched", "GET", True),
    ],
)
def test_the_latency_panels_leave_out_streams_and_calls_that_wait_for_a_generation(
    route: str, method: str, shown: bool
) -> None:
    """Prometheus' regex matchers are anchored at both ends, as re.fullmatch."""
    latency = [expr for title, expr in queries() if title in LATENCY_PANELS]
    assert len(latency) == 5, "P50, P90, P95, P99 and P95 by route"
    for expr in latency:
        excluded, kept = latency_routes(expr)
        counted = not excluded.fullmatch(route) or (route == kept and method != "POST")
        assert counted == shown, expr
