"""Ctrl-C in a real terminal (a pty): `sdq up` stops in order and the running image finishes."""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import httpx
import redis

from cli.embedded_redis import EmbeddedRedis, free_port
from sdq.store import redis_keys as keys
from tests.helpers import REPO, wait_until

# A synthetic job of ~4 s: long enough to be mid-way when ^C is typed, no model to load.
STEPS = 20
STEP_S = "0.2"


def _controlling_terminal(slave: int) -> None:
    """`preexec_fn`: a new session whose controlling terminal is the pty, as a shell gives."""
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)


def _drain(master: int, sink: bytearray) -> None:
    while select.select([master], [], [], 0)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other side closed
            return
        if not chunk:
            return
        sink += chunk


def test_ctrl_c_in_a_terminal_lets_the_running_job_finish_before_redis_stops(
    tmp_path: Path,
) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDQ_")}
    env |= {"PYTHONUNBUFFERED": "1", "SDQ_SYNTHETIC_STEP_SECONDS": STEP_S, "TERM": "dumb"}
    argv = [sys.executable, "-m", "cli", "up", "--port", str(port), "--data-dir", str(data_dir)]
    master, slave = os.openpty()
    process = subprocess.Popen(
        [*argv, "--model", "sdq/synthetic"],
        env=env,
        cwd=REPO,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=lambda: _controlling_terminal(slave),
    )
    os.close(slave)
    output = bytearray()
    url = f"http://127.0.0.1:{port}"
    try:

        def started() -> bool:
            _drain(master, output)
            return b"Press Ctrl-C to stop" in output

        wait_until(started, 120, "sdq up to say it is up")
        body = {"input": {"prompt": "dog", "num_inference_steps": STEPS, "width": 64, "height": 64}}
        job_id = httpx.post(f"{url}/v1/models/sdq/synthetic/predictions", json=body).json()["id"]

        def running() -> bool:
            _drain(master, output)
            status = httpx.get(f"{url}/v1/predictions/{job_id}").json()["status"]
            return bool(status == "processing")

        wait_until(running, 120, "the job to start")
        os.write(master, b"\x03")  # what a terminal sends for Ctrl-C: SIGINT to the foreground
        deadline = time.monotonic() + 90
        while process.poll() is None and time.monotonic() < deadline:
            _drain(master, output)
            time.sleep(0.05)
        _drain(master, output)
        assert process.returncode is not None, "sdq up did not stop after Ctrl-C"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    text = output.decode(errors="replace")
    # Read what Redis kept (its AOF in the data dir) after everything stopped.
    with EmbeddedRedis(data_dir / "redis") as server:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        status = client.hget(keys.job(job_id), "status")
        client.close()
    assert status == "succeeded", f"the running job ended {status!r}:\n{text[-4000:]}"
    assert "Couldn't ack" not in text and "Traceback" not in text, text[-4000:]
