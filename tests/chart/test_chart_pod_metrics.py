"""The worker, scaler and webhook sender pods' own metrics port (metrics.pods, on by default): the
`metrics` container port, the settings that start it (behind the metrics token from the auth
Secret), the workers' multiprocess folder on an emptyDir, scrape annotations, the PodMonitor (off
by default) and the NetworkPolicy opening for that port only."""

from __future__ import annotations

import json
import os
from typing import Any
from unittest import mock

import kubernetes_validate
import pytest

from scaler.kubernetes_names import worker_deployment
from sdq.metrics_access import metrics_access
from sdq.metrics_server import MULTIPROC_ENV
from sdq.settings import Settings
from tests.chart.pods import container_env, only_container
from tests.chart.render import (
    CHART,
    KUBERNETES_VERSION,
    NAMESPACE,
    RELEASE,
    named,
    objects,
    refusal,
    render,
    run_helm,
)
from tests.chart.test_chart_metrics import PER_TOKEN_CASE, TOKEN_CASES, is_custom_resource

WORKER = worker_deployment(RELEASE, "sdq/tiny").name
PODS = {"worker": WORKER, "scaler": f"{RELEASE}-scaler", "webhooks": f"{RELEASE}-webhooks"}
PORT = 9464
PODMONITOR = ("--set", "metrics.podMonitor.enabled=true")
OFF = ("--set", "metrics.pods.enabled=false")


def deployment(docs: tuple[dict[str, Any], ...], component: str) -> dict[str, Any]:
    return named(docs, "Deployment", PODS[component])


def env_entries(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in only_container(workload).get("env", [])}


def settings_of(docs: tuple[dict[str, Any], ...], component: str) -> Settings:
    """The settings the pod's process reads, its environment resolved as the kubelet does."""
    workload = deployment(docs, component)
    env = container_env(docs, only_container(workload), f"{PODS[component]}-0")
    with mock.patch.dict(os.environ, env, clear=True):
        return Settings()


@pytest.mark.parametrize("component", PODS)
def test_by_default_each_pod_has_a_metrics_port_its_process_serves(component: str) -> None:
    docs = render(())
    workload = deployment(docs, component)
    assert only_container(workload)["ports"] == [
        {"name": "metrics", "containerPort": PORT, "protocol": "TCP"}
    ]
    settings = settings_of(docs, component)
    assert (settings.metrics_port, settings.metrics_host) == (PORT, "0.0.0.0")
    annotations = workload["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(PORT)
    assert annotations["prometheus.io/path"] == "/metrics"
    assert objects(docs, "PodMonitor") == []


@pytest.mark.parametrize("component", PODS)
def test_the_port_follows_the_value_and_off_means_no_port_no_setting(component: str) -> None:
    moved = deployment(render(("--set", "metrics.pods.port=9100")), component)
    assert only_container(moved)["ports"][0]["containerPort"] == 9100
    assert env_entries(moved)["SDQ_METRICS_PORT"]["value"] == "9100"
    assert moved["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "9100"
    docs = render(OFF)
    workload = deployment(docs, component)
    assert "ports" not in only_container(workload)
    assert settings_of(docs, component).metrics_port is None
    assert not {"SDQ_METRICS_TOKEN", MULTIPROC_ENV} & env_entries(workload).keys()
    annotations = workload["spec"]["template"]["metadata"]["annotations"]
    assert not any(key.startswith("prometheus.io/") for key in annotations)
    assert "metrics" not in [v["name"] for v in workload["spec"]["template"]["spec"]["volumes"]]


@pytest.mark.parametrize("component", PODS)
def test_without_scrape_annotations_the_pods_carry_none(component: str) -> None:
    workload = deployment(render(("--set", "metrics.scrapeAnnotations=false")), component)
    annotations = workload["spec"]["template"]["metadata"]["annotations"]
    assert not any(key.startswith("prometheus.io/") for key in annotations)
    assert only_container(workload)["ports"][0]["name"] == "metrics"


@pytest.mark.parametrize("component", PODS)
def test_only_the_worker_adds_up_its_processes_through_an_emptydir(component: str) -> None:
    workload = deployment(render(()), component)
    folder = env_entries(workload).get(MULTIPROC_ENV, {}).get("value")
    if component != "worker":
        assert folder is None  # one process: its own registry
        return
    mounts = {m["mountPath"]: m["name"] for m in only_container(workload)["volumeMounts"]}
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
    assert folder in mounts, "the folder is a mounted volume (the root filesystem is read-only)"
    assert "emptyDir" in volumes[mounts[folder]]


@PER_TOKEN_CASE
@pytest.mark.parametrize("component", PODS)
def test_the_pods_require_the_metrics_token_from_the_auth_secret(case: str, component: str) -> None:
    values, token = TOKEN_CASES[case]
    docs = render(values)
    access = metrics_access(settings_of(docs, component))
    entries = env_entries(deployment(docs, component))
    if token is None:  # auth off: open, as the API is (SDQ_AUTH=none)
        assert access.token is None and access.refusal is None
        assert "SDQ_METRICS_TOKEN" not in entries
        return
    ref = entries["SDQ_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"]) == token
    assert ref.get("optional", False) == case.startswith("existing-secret")
    if case == "generated":
        assert access.token is not None and access.refusal is None
    else:  # the operator's Secret is not rendered here: without the key, refused, never open
        assert access.token is None and access.refusal is not None


@PER_TOKEN_CASE
def test_the_pod_monitor_scrapes_the_metrics_port_of_the_three_pods_with_the_token(
    case: str,
) -> None:
    values, token = TOKEN_CASES[case]
    docs = render((*PODMONITOR, *values, "--set", "metrics.podMonitor.labels.release=kps"))
    [monitor] = objects(docs, "PodMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kps"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    selected = [
        d["metadata"]["name"]
        for d in objects(docs, "Deployment") + objects(docs, "StatefulSet")
        if selects(monitor["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
    ]
    assert sorted(selected) == sorted(PODS.values()), "not the API's pods, not Redis"
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("metrics", "/metrics")
    assert (endpoint["interval"], endpoint["scrapeTimeout"]) == ("30s", "10s")
    if token is None:
        assert "authorization" not in endpoint
        return
    name, key = token
    assert endpoint["authorization"] == {
        "type": "Bearer", "credentials": {"name": name, "key": key},
    }  # fmt: skip
    for component in PODS:  # the very Secret key the pods compare with
        ref = env_entries(deployment(docs, component))["SDQ_METRICS_TOKEN"]["valueFrom"]
        assert (ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]) == token


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector's matchLabels and `In` matchExpressions against a pod's labels."""
    if not selector["matchLabels"].items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def test_a_pod_monitor_without_the_pods_port_is_refused() -> None:
    assert "metrics.pods.enabled" in refusal((*PODMONITOR, *OFF))


API_PEERS = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}}]
MONITORING = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]


@pytest.mark.parametrize(
    ("args", "peers"),
    [
        ((), None),  # from anywhere, as the API's port
        (("--set-json", f"networkPolicy.api.from={json.dumps(API_PEERS)}"), API_PEERS),
        (
            (
                "--set-json", f"networkPolicy.api.from={json.dumps(API_PEERS)}",
                "--set-json", f"networkPolicy.metrics.from={json.dumps(MONITORING)}",
            ),
            MONITORING,
        ),
    ],
    ids=["anywhere", "the-apis-peers", "its-own-peers"],
)  # fmt: skip
def test_the_network_policy_opens_the_metrics_port_and_nothing_else(
    args: tuple[str, ...], peers: list[dict[str, Any]] | None
) -> None:
    docs = render(args)
    policy = named(docs, "NetworkPolicy", f"{RELEASE}-metrics-only")
    [rule] = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": PORT, "protocol": "TCP"}]
    assert rule.get("from") == peers
    assert [p["metadata"]["name"] for p in objects(docs, "NetworkPolicy")].count(
        f"{RELEASE}-no-ingress"
    ) == 0
    closed = named(render(OFF), "NetworkPolicy", f"{RELEASE}-no-ingress")
    assert closed["spec"]["ingress"] == []


def test_with_the_pod_monitor_on_the_chart_lints_and_its_objects_are_valid_kubernetes() -> None:
    args = (*PODMONITOR, "--set", "metrics.serviceMonitor.enabled=true")
    result = run_helm("lint", "--strict", str(CHART), "--namespace", NAMESPACE, *args, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    docs = render(args)
    assert objects(docs, "PodMonitor")
    for doc in docs:
        if not is_custom_resource(doc):
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
