"""`sdq simulate` from the command line: table, JSON, plot, and refusals that name the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def test_prints_a_row_per_policy() -> None:
    result = runner.invoke(app, ["simulate", "--cold-start", "30"])
    assert result.exit_code == 0, result.output
    assert "closed loop -n 50 -c 5, job time 10 s, cold start 30 s" in result.output
    for policy in ("sdq", "KPA-like", "KEDA LLEN"):
        assert policy in result.output


def test_json_poisson_with_policy_knobs_and_a_plot(tmp_path: Path) -> None:
    plot = tmp_path / "sim.png"
    args = ["simulate", "--rate", "0.5", "--jobs", "40", "--job-time", "uniform:4,6",
            "--set", "idle_to_zero_s=60", "--set", "max_replicas=3",
            "--plot", str(plot), "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.output[: result.output.rindex("}") + 1])
    assert [r["policy"] for r in body["results"]] == ["sdq", "KPA-like", "KEDA LLEN"]
    assert all(r["max_replicas"] <= 3 for r in body["results"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_replays_a_trace(tmp_path: Path) -> None:
    csv = tmp_path / "arrivals.csv"
    csv.write_text("arrival_s,duration_s\n0,5\n1,5\n2,5\n")
    result = runner.invoke(app, ["simulate", "--trace", str(csv), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["workload"].startswith("trace of 3 arrivals")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--job-time", "soon"], "job time 'soon'"),
        (
            ["--set", "min_replicas=20"],
            "policy: Value error, min_replicas (20) exceeds",
        ),
        (["--set", "surprise=1"], "surprise: Extra inputs are not permitted"),
        (["-n", "3", "-c", "5"], "1 <= clients <= requests"),
        (["--trace", "/nonexistent.csv"], "nonexistent.csv"),
    ],
)
def test_bad_arguments_are_refused_by_name(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["simulate", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
