"""What `sdq demo` and `sdq up` print: the few lines a user needs on the terminal, the detail in
one log file per process under DATA_DIR/logs, and that detail on the terminal with debug."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cli.embedded_redis import free_port
from tests.helpers import REPO, wait_terminal, wait_until

PNG = b"\x89PNG\r\n\x1a\n"
# What `make demo` printed before: Celery's banner and its config dump, library warnings, the
# tiny model's shard progress bars.
NOISE = [
    "celery@",
    "-------------- ",
    "[config]",
    "[queues]",
    "warning",  # FutureWarning, DeprecationWarning, SecurityWarning, WARNING lines
    "torchvision",
    "█",
    "it/s]",
    "%|",
]
# Counted: one line per process start (Redis, API, webhooks, scaler), where the logs are, the
# job queued, running and four progress lines, the result: 12. The margin allows a line or two
# more, never the ~110 of old.
MAX_DEMO_LINES = 16
PROCESS_LOGS = ["api.log", "redis.log", "scaler.log", "webhooks.log", "worker-sdq-tiny-0.log"]


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDQ_")}
    return env | {"PYTHONUNBUFFERED": "1", "SDQ_TORCH_THREADS": "1"}


def noise_in(terminal: str) -> list[str]:
    lowered = terminal.lower()
    return [noise for noise in NOISE if noise.lower() in lowered]


def process_logs(data_dir: Path) -> dict[str, str]:
    return {log.name: log.read_text() for log in sorted((data_dir / "logs").glob("*.log"))}


def assert_detail_in(logs: dict[str, str], job_id: str) -> None:
    """Each process's own detail is in its own file."""
    assert sorted(logs) == PROCESS_LOGS, sorted(logs)
    assert "Application startup complete" in logs["api.log"]
    assert "Ready to accept connections" in logs["redis.log"]
    assert "started worker" in logs["scaler.log"]
    assert "webhook service ready" in logs["webhooks.log"]
    worker = logs["worker-sdq-tiny-0.log"]
    assert re.search(rf"\[job={job_id}\] succeeded in", worker), worker[-3000:]


@pytest.mark.timeout(600)
def test_demo_prints_a_few_lines_and_keeps_the_detail_in_one_log_file_per_process(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"  # fresh: the demo writes the tiny model itself, as on day one
    out = tmp_path / "demo.png"
    argv = [sys.executable, "-m", "cli", "demo", "--out", str(out), "--data-dir", str(data_dir)]
    done = subprocess.run(
        argv,
        env=cli_env(),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        timeout=540,
    )
    terminal = done.stdout
    assert done.returncode == 0, terminal
    assert out.read_bytes().startswith(PNG)

    assert noise_in(terminal) == [], terminal
    lines = terminal.splitlines()
    assert len(lines) <= MAX_DEMO_LINES, terminal
    assert str((data_dir / "logs").resolve()) in terminal, "the terminal says where the logs are"
    for name in ("redis", "api", "webhooks", "scaler"):
        assert re.search(rf"started {name} \(pid \d+\)", terminal), terminal
    assert re.search(r"step \d+/20", terminal), "the job's progress"
    wrote = re.search(rf"wrote {re.escape(str(out.resolve()))} \((\w+),", terminal)
    assert wrote, terminal

    assert_detail_in(process_logs(data_dir), wrote.group(1))


@pytest.mark.timeout(300)
def test_up_with_log_level_debug_shows_the_detail_on_the_terminal_too(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "models").mkdir(parents=True)
    os.symlink(tiny_model_dir, data_dir / "models" / "sdq-tiny")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    terminal_log = tmp_path / "terminal.log"
    argv = [sys.executable, "-m", "cli", "up", "--port", str(port), "--data-dir", str(data_dir)]
    with terminal_log.open("wb") as terminal_out:
        up = subprocess.Popen(
            [*argv, "--log-level", "debug"],
            env=cli_env(),
            cwd=REPO,
            stdout=terminal_out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:

        def ready() -> bool:
            assert up.poll() is None, terminal_log.read_text()
            return "sdq is up" in terminal_log.read_text()

        wait_until(ready, 120, "sdq up to be ready")
        body = {"model": "sdq/tiny", "input": {"prompt": "x", "width": 64, "height": 64}}
        created = httpx.post(
            f"{url}/v1/predictions", json=body, headers={"Prefer": "wait"}, timeout=90
        ).json()
        job_id = created["id"]
        if created["status"] not in ("succeeded", "failed", "canceled"):
            # Prefer: wait holds at most 60 s; a slow machine's cold start may take longer.
            with httpx.Client(base_url=url, timeout=30) as client:
                created = wait_terminal(client, job_id, timeout=180)
        assert created["status"] == "succeeded", created
        wait_until(lambda: job_id in terminal_log.read_text(), 30, "the worker's lines to show")
    finally:
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=60) == 0
    terminal = terminal_log.read_text()

    logs = process_logs(data_dir)
    assert_detail_in(logs, job_id)
    for name, detail in logs.items():  # every process's detail, each line once, on the terminal
        last_line = detail.strip().splitlines()[-1].strip()
        assert last_line in terminal, f"{name}: {last_line!r} not on the terminal:\n{terminal}"
    assert re.search(rf"\[job={job_id}\] succeeded in", terminal)
    assert "DEBUG" in terminal, "debug lines too"
