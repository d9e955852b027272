"""The ScaledObject in docs/keda.md: valid against KEDA's CRD, and reading fields sdq serves."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from scaler.kubernetes_names import worker_deployment

ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT / "tests" / "schemas" / "keda.sh_scaledobjects.yaml"


def documented_scaled_object() -> dict[str, Any]:
    """The one ScaledObject in docs/keda.md (the e2e metrics test reads it too)."""
    text = (ROOT / "docs" / "keda.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    [scaled_object] = [doc for doc in map(yaml.safe_load, blocks) if doc["kind"] == "ScaledObject"]
    result: dict[str, Any] = scaled_object
    return result


def schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    result: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return result


def test_the_documented_scaled_object_is_valid_keda() -> None:
    scaled_object = documented_scaled_object()
    jsonschema.validate(scaled_object, schema())


def test_it_targets_the_charts_worker_deployment_and_reads_sdqs_metric() -> None:
    scaled_object = documented_scaled_object()
    assert (
        scaled_object["spec"]["scaleTargetRef"]["name"] == worker_deployment("sdq", "sdq/tiny").name
    )
    [trigger] = scaled_object["spec"]["triggers"]
    assert trigger["type"] == "metrics-api"
    assert trigger["metadata"]["url"].endswith("/v1/scaling/metrics/sdq/tiny")
    assert trigger["metadata"]["valueLocation"] == "work"  # queued + in flight
    assert scaled_object["spec"]["minReplicaCount"] == 0


def test_the_schema_rejects_what_keda_would() -> None:
    scaled_object = documented_scaled_object()
    broken = scaled_object | {"spec": scaled_object["spec"] | {"minReplicaCount": "zero"}}
    try:
        jsonschema.validate(broken, schema())
    except jsonschema.ValidationError as error:
        assert "minReplicaCount" in str(error.path) or "zero" in error.message
    else:
        raise AssertionError("a string minReplicaCount passed the CRD schema")
