"""Runs the real helm binary on charts/sdq: `helm lint` and `helm template`, parsed into objects."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "sdq"
EXAMPLES = CHART / "examples"
RELEASE = "sdq"
NAMESPACE = "gen"
KUBERNETES_VERSION = "1.30.0"


def helm() -> str:
    """SDQ_HELM (set by `make test`), else helm on PATH, else the one `make test` fetches."""
    for candidate in (os.environ.get("SDQ_HELM"), shutil.which("helm")):
        if candidate and Path(candidate).exists():
            return candidate
    fetched = ROOT / ".tools" / "bin" / "helm"
    if fetched.exists():
        return str(fetched)
    raise RuntimeError("no helm: run `make test` (it fetches one) or put helm on PATH")


def run_helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [helm(), *args], capture_output=True, text=True, check=check, cwd=ROOT, timeout=120
    )


@functools.cache
def render(args: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    """Every object `helm template` renders for these values arguments."""
    result = run_helm(
        "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
        "--kube-version", KUBERNETES_VERSION, *args,
    )  # fmt: skip
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


@functools.cache
def notes(args: tuple[str, ...]) -> str:
    """The install notes for these values. `helm template` never prints NOTES.txt (only an install
    does, which needs a cluster), so a copy of the chart gets the real NOTES.txt as a named
    template, included into one extra ConfigMap: the same text, rendered by the same helm."""
    with tempfile.TemporaryDirectory() as folder:
        chart = Path(folder) / CHART.name
        shutil.copytree(CHART, chart)
        text = (CHART / "templates" / "NOTES.txt").read_text()
        (chart / "templates" / "_notes_under_test.tpl").write_text(
            '{{- define "test.notes" -}}\n' + text + "{{- end }}\n"
        )
        (chart / "templates" / "notes-under-test.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes-under-test}\n"
            'data:\n  notes: {{ include "test.notes" . | quote }}\n'
        )
        result = run_helm(
            "template", RELEASE, str(chart), "--namespace", NAMESPACE,
            "--show-only", "templates/notes-under-test.yaml", *args,
        )  # fmt: skip
    note: str = yaml.safe_load(result.stdout)["data"]["notes"]
    return note


def refusal(args: tuple[str, ...]) -> str:
    """What helm says when it refuses to render these values (fails if it renders)."""
    result = run_helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *args, check=False)
    assert result.returncode != 0, f"rendered although it should refuse: {args}"
    return result.stderr


def objects(docs: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in objects(docs, kind) if d["metadata"]["name"] == name]
    return doc


def pod_specs(docs: tuple[dict[str, Any], ...]) -> list[tuple[str, dict[str, Any]]]:
    """(workload name, pod spec) of every Deployment and StatefulSet."""
    return [
        (doc["metadata"]["name"], doc["spec"]["template"]["spec"])
        for doc in docs
        if doc["kind"] in ("Deployment", "StatefulSet")
    ]
