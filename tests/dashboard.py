"""The chart's Grafana dashboard: its panels' queries, as Prometheus runs them once Grafana has
filled in the dashboard's variables, and the metric names and labels they read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DASHBOARD = Path(__file__).resolve().parents[1] / "charts" / "sdq" / "dashboards" / "sdq.json"
# What Grafana puts in place of its variables: every model, a one-minute rate window (four
# scrapes at kube-prometheus-stack's 15 s), and a one-hour dashboard range.
VARIABLES = {"$model": ".*", "$__rate_interval": "1m", "$__range": "1h"}
# A metric name in PromQL: sdq_..., not followed by `(` (a function) or `"` (a label value).
METRIC = re.compile(r"\b(sdq_[a-z_]+)\b(?![(\"])")
HISTOGRAM_SERIES = ("_bucket", "_count", "_sum")
MATCHERS = re.compile(r"sdq_[a-z_]+\{([^}]*)\}")
MATCHER_LABEL = re.compile(r"([a-z_]+)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows included; rows themselves left out."""
    found: list[dict[str, Any]] = []
    for panel in board["panels"]:
        if panel["type"] == "row":
            found.extend(panel.get("panels", []))
        else:
            found.append(panel)
    return found


def queries(board: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(panel title, PromQL as written) of every target of every panel."""
    board = board if board is not None else dashboard()
    return [
        (panel["title"], target["expr"])
        for panel in panels(board)
        for target in panel.get("targets", [])
    ]


def runnable(expr: str) -> str:
    """The query with Grafana's variables filled in as VARIABLES says."""
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def metric_names(expr: str) -> set[str]:
    """The sdq metrics a query reads, histogram series as their histogram's name."""
    names = set()
    for name in METRIC.findall(expr):
        for suffix in HISTOGRAM_SERIES:
            if name.endswith(suffix):
                name = name.removesuffix(suffix)
        names.add(name)
    return names


def labels_used(expr: str) -> set[str]:
    """Every label a query matches on or groups by."""
    used = {label for body in MATCHERS.findall(expr) for label in MATCHER_LABEL.findall(body)}
    for group in GROUPING.findall(expr):
        used |= {label.strip() for label in group.split(",") if label.strip()}
    return used
