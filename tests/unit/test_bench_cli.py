"""`sdq bench` refuses bad options by name before it sends anything (no server is running)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli import app
from cli.bench_commands import mode_of
from cli.loadgen.targets import Dialect

runner = CliRunner()
# A loopback port nothing listens on: a refusal must come before any request.
URL = "http://127.0.0.1:9/sdapi/v1/txt2img"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["http://127.0.0.1:9/sdapi/v1/progress"], "is no create endpoint"),
        (["-z", "soon", URL], "duration 'soon'"),
        (["-n", "3", "-c", "5", URL], "-c (5) must not exceed -n (3)"),
        (["--rate", "0", URL], "--rate must be more than 0"),
        (["-H", "Prefer wait", URL], "'Name: value'"),
        (["--follow", URL], "nothing to follow"),
        (["-t", "0", URL], "must be more than 0"),
        (["-d", "{}", "--prompt", "dog", URL], "give -d, or --prompt and --model"),
        (["-d", "@/nonexistent.json", URL], "/nonexistent.json"),
    ],
)
def test_bad_options_are_refused_by_name(args: list[str], says: str) -> None:
    result = runner.invoke(app, ["bench", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.output.replace("│", " ").split())


def test_an_unreachable_server_is_reported_and_fails() -> None:
    result = runner.invoke(app, ["bench", "-n", "2", "-c", "1", "--json", URL])
    assert result.exit_code == 1
    assert '"ConnectError' in result.output


@pytest.mark.parametrize(
    ("dialect", "follow", "headers", "mode"),
    [
        (Dialect.NATIVE, False, {}, "submit"),
        (Dialect.NATIVE, False, {"Prefer": "wait=30"}, "wait"),
        (Dialect.NATIVE, True, {"Prefer": "wait"}, "follow"),
        (Dialect.A1111, False, {}, "answer"),
        (Dialect.OPENAI, False, {"Prefer": "wait"}, "answer"),
    ],
)
def test_what_each_latency_runs_to(
    dialect: Dialect, follow: bool, headers: dict[str, str], mode: str
) -> None:
    assert mode_of(dialect, follow, headers) == mode
