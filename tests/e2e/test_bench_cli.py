"""`sdq bench` as a user runs it: a real `python -m cli bench` process against a real API and a
synthetic worker over loopback, in each dialect, its `--json` read back."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.embedded_redis import EmbeddedRedis
from tests.helpers import REPO, Stack, bench_json, run_cli, started_api, wait_until

MODEL = "sdq/synthetic"
PERCENTILES = {"10", "25", "50", "75", "90", "95", "99"}


@pytest.fixture(scope="module")
def stack(redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The API serving only the synthetic model at 5 ms a step; no worker until a test starts
    one (the first, to see a cold start)."""
    data_dir, logs = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("logs")
    settings = {"SDQ_MODELS": MODEL, "SDQ_SYNTHETIC_STEP_SECONDS": "0.005"}
    with started_api(redis_server.url, data_dir, logs, **settings) as running:
        yield running


@pytest.fixture
def warm(stack: Stack) -> Stack:
    """The stack with its synthetic worker running."""
    if not stack.workers:
        stack.start_worker(MODEL)
    stack.wait_for_workers()
    return stack


def bench(stack: Stack, *args: str) -> dict[str, Any]:
    """`sdq bench --json ARGS`'s document (stdout is a pipe: no progress bar)."""
    return bench_json(stack.env, *args)


def assert_hey_summary(document: dict[str, Any], requests: int, status: int) -> None:
    summary = document["summary"]
    assert summary["requests"] == requests
    assert summary["status_codes"] == {str(status): requests} and summary["errors"] == {}
    assert set(summary["percentiles"]) == PERCENTILES
    assert summary["fastest_s"] <= summary["percentiles"]["50"] <= summary["slowest_s"]
    assert sum(bucket["count"] for bucket in summary["histogram"]) == requests
    assert summary["requests_per_s"] > 0
    assert len(document["outcomes"]) == requests


def test_native_prefer_wait_from_zero_workers_sees_the_cold_start(stack: Stack) -> None:
    assert not stack.workers, "this test starts the module's worker"
    url = f"{stack.url}/v1/models/{MODEL}/predictions"
    running = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "bench",
            "--json",
            "-n",
            "4",
            "-c",
            "2",
            "-H",
            "Prefer: wait",
            url,
        ],
        env=stack.env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    with httpx.Client(base_url=stack.url, timeout=10) as client:
        wait_until(
            lambda: client.get(f"/v1/models/{MODEL}").json()["queued"] == 2,
            30,
            "the bench's first two requests to queue",
        )
    stack.start_worker(MODEL)  # a cold start, as the scaler's would be
    stdout, stderr = running.communicate(timeout=180)
    assert running.returncode == 0, stdout + stderr
    document = json.loads(stdout)
    assert (document["dialect"], document["mode"]) == ("native", "wait")
    assert document["command"].startswith("sdq bench --json -n 4 -c 2 -H 'Prefer: wait'")
    assert_hey_summary(document, 4, 201)
    facts = document["sdq"]
    assert facts["model"] == MODEL and facts["split_read"] == 4
    assert facts["workers"]["start"] == 0 and facts["workers"]["peak"] == 1
    assert facts["cold_starts"]["worker_starts"] == 1
    assert facts["cold_starts"]["requests_waited"] >= 2  # the two queued before it started
    first = min(document["outcomes"], key=lambda o: o["sent_s"])
    assert first["queue_wait_s"] > 1.0 and first["finished"] is True


@pytest.mark.parametrize(
    ("path", "args", "dialect", "status"),
    [
        ("/sdapi/v1/txt2img", [], "a1111", 200),
        ("/v1/images/generations", [], "openai", 200),
        ("/v1/predictions", ["--follow"], "native", 201),
    ],
)
def test_each_dialect_gets_the_split_from_its_predictions(
    warm: Stack, path: str, args: list[str], dialect: str, status: int
) -> None:
    document = bench(warm, "-n", "6", "-c", "2", "-p", "a pretty dog", *args, warm.url + path)
    assert document["dialect"] == dialect and document["concurrency"] == 2
    assert_hey_summary(document, 6, status)
    facts = document["sdq"]
    assert facts["model"] == MODEL and facts["split_missing"] is None
    assert facts["split_read"] == 6 and facts["unfinished"] == 0
    for part in ("queue_wait", "predict_time", "overhead"):
        assert set(facts[part]) == {"average_s", "p50_s", "p95_s", "slowest_s"}, part
    assert facts["predict_time"]["average_s"] > 0
    assert facts["workers"]["start"] == facts["workers"]["end"] == 1
    assert facts["cold_starts"] == {"worker_starts": 0, "requests_waited": 0}


@pytest.mark.parametrize(
    ("path", "args", "missing"),
    [
        ("/v1/predictions", [], "the native requests measured the submit only"),
        ("/v1/images/generations", ["-d", '{"prompt": "dog", "response_format": "b64_json"}'],
         "no answer named an sdq prediction"),
    ],
)  # fmt: skip
def test_without_a_prediction_to_read_the_split_is_na(
    warm: Stack, path: str, args: list[str], missing: str
) -> None:
    document = bench(warm, "-n", "4", "-c", "2", *args, warm.url + path)
    facts = document["sdq"]
    assert facts["split_missing"].startswith(missing)
    assert facts["queue_wait"] is None and facts["workers"]["peak"] == 1


def test_an_open_loop_runs_for_its_duration(warm: Stack) -> None:
    url = f"{warm.url}/sdapi/v1/txt2img"
    document = bench(warm, "--rate", "5", "-z", "2s", "-d", '{"prompt": "dog", "steps": 4}', url)
    assert (document["rate"], document["duration_s"], document["concurrency"]) == (5.0, 2.0, None)
    sent = [outcome["sent_s"] for outcome in document["outcomes"]]
    assert 2 <= len(sent) <= 30  # Poisson at 5/s for 2 s: 10 expected
    assert max(sent) < 5, "none sent after the duration (a slow machine may send a little late)"
    assert document["summary"]["status_codes"] == {"200": len(sent)}


def test_the_text_summary_and_the_plot(warm: Stack, tmp_path: Path) -> None:
    picture = tmp_path / "bench.png"
    ran = run_cli(
        warm.env,
        "bench",
        "-n",
        "4",
        "-c",
        "2",
        "--plot",
        str(picture),
        f"{warm.url}/sdapi/v1/txt2img",
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    for heading in ("Summary:", "Response time histogram:", "Latency distribution:",
                    "Status code distribution:", f"sdq (model {MODEL}):"):  # fmt: skip
        assert heading in ran.stdout.splitlines(), heading
    assert "  [200]\t4 responses" in ran.stdout
    assert f"wrote {picture}" in ran.stderr
    assert picture.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
