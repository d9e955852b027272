"""A taken port or data dir: `sdq up` and `sdq api` say so in one line and exit 1, never a false
"sdq is up"; readiness counts only when the answer comes from this stack's own API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cli.client import SdqClient
from cli.embedded_redis import free_port
from tests.helpers import REPO, process_env, wait_until


class _ReadyHandler(BaseHTTPRequestHandler):
    """Another server on the address: answers every readiness check with 200 and its own pid."""

    def do_GET(self) -> None:
        body = json.dumps({"status": "ok", "pid": 1}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def other_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ReadyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _sdq(args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int | None, str]:
    """Run `python -m cli ARGS`; its exit code (None if still running at the timeout) and output."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output.decode(errors="replace")
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        return None, output.decode(errors="replace")


def _up_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDQ_")}
    return env | {"PYTHONUNBUFFERED": "1", "COLUMNS": "200"}


def test_sdq_up_on_a_taken_port_exits_at_once_without_a_banner(
    other_server: int, tmp_path: Path
) -> None:
    args = [
        "up",
        "--port",
        str(other_server),
        "--data-dir",
        str(tmp_path),
        "--model",
        "sdq/synthetic",
    ]
    code, output = _sdq(args, _up_env())
    assert code == 1, output
    assert f"port {other_server} on 127.0.0.1 is already in use" in output
    assert "sdq is up" not in output and "Traceback" not in output, output


def test_sdq_api_on_a_taken_port_exits_non_zero_in_one_line(
    other_server: int, redis_url: str, tmp_path: Path
) -> None:
    code, output = _sdq(["api"], process_env(redis_url, tmp_path, other_server), timeout=30)
    assert code == 1, output
    assert f"port {other_server} on 127.0.0.1 is already in use" in output
    assert "Traceback" not in output, output


def test_two_stacks_cannot_share_a_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first_port = free_port()
    model = ["--model", "sdq/synthetic"]
    argv = ["up", "--port", str(first_port), "--data-dir", str(data_dir), *model]
    first = subprocess.Popen(
        [sys.executable, "-m", "cli", *argv],
        env=_up_env(),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(lambda: (data_dir / "redis").is_dir(), 60, "the first stack to start Redis")
        args = ["up", "--port", str(free_port()), "--data-dir", str(data_dir)]
        code, output = _sdq([*args, "--model", "sdq/synthetic"], _up_env())
        assert code == 1, output
        assert f"data dir {data_dir} is in use by another sdq up (pid {first.pid})" in output
        assert first.poll() is None, "the first stack keeps running"
    finally:
        first.terminate()
        first.wait(timeout=60)


def test_readiness_counts_only_an_answer_from_the_expected_process(other_server: int) -> None:
    client = SdqClient(f"http://127.0.0.1:{other_server}")
    with pytest.raises(TimeoutError):
        client.wait_ready(timeout_s=1.0, expect_pid=lambda: 4242)
    client.wait_ready(timeout_s=5.0, expect_pid=lambda: 1)
    client.wait_ready(timeout_s=5.0)
    client.close()
