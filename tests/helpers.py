"""Test helpers: starting sdq processes, waiting on conditions, reading predictions."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import redis
from typer.testing import CliRunner

from cli.embedded_redis import find_redis_server, free_port
from sdq.settings import Settings

REPO = Path(__file__).resolve().parents[1]
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def process_env(redis_url: str, data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "SDQ_REDIS_URL": redis_url,
            "SDQ_DATA_DIR": str(data_dir),
            "SDQ_PORT": str(port),
            "SDQ_HOST": "127.0.0.1",
            "SDQ_MODELS": "sdq/tiny,sdq/synthetic",
            "SDQ_TORCH_THREADS": "1",
            "SDQ_HEARTBEAT_INTERVAL_S": "1",
            "SDQ_HEARTBEAT_TTL_S": "4",
            "SDQ_REAPER_INTERVAL_S": "1",
            "SDQ_SSE_PING_S": "0.5",
            "SDQ_WEBHOOK_ALLOW_PRIVATE": "true",
            "SDQ_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SDQ_WEBHOOK_RETRY_SCHEDULE_S": "0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *argv],
        env=env,
        cwd=REPO,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def start_up(data_dir: Path, port: int, log: Path, **settings: str) -> subprocess.Popen[bytes]:
    """`sdq up` as a user starts it: none of this environment's SDQ_ settings, only those given
    (and one torch thread); its terminal output goes to `log`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDQ_")}
    env |= {"PYTHONUNBUFFERED": "1", "SDQ_TORCH_THREADS": "1"} | settings
    argv = [sys.executable, "-m", "cli", "up", "--port", str(port), "--data-dir", str(data_dir)]
    return subprocess.Popen(
        argv,
        env=env,
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m cli ARGS` as a process with this environment, its output captured (a pipe:
    no progress bars); at most a minute."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def in_process_cli() -> CliRunner:
    """A runner of `sdq` commands inside this process that leaves its environment as it was
    (`sdq models` sets the libraries' verbosity variables for the processes it would start)."""
    return CliRunner(env={"TRANSFORMERS_VERBOSITY": None, "DIFFUSERS_VERBOSITY": None})


def bench_json(env: dict[str, str], *args: str) -> dict[str, Any]:
    """The document `sdq bench --json ARGS` prints; it must exit 0."""
    ran = run_cli(env, "bench", "--json", *args)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    document: dict[str, Any] = json.loads(ran.stdout)
    return document


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Stack:
    """A running API and worker(s) on real Redis, reachable over loopback HTTP."""

    redis_url: str
    data_dir: Path
    port: int
    logs: Path
    env: dict[str, str]
    api: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def http(self) -> httpx.Client:
        """A client of the stack's API, with its SDQ_ADMIN_KEY when it has one."""
        key = self.env.get("SDQ_ADMIN_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, timeout=90, headers=headers)

    def start_api(self) -> None:
        self.api = start(["api"], self.env, self.logs / "api.log")
        with self.http() as client:

            def ready() -> bool:
                try:
                    return client.get("/readyz").status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(ready, 60, "the API to answer /readyz")

    def start_webhooks(self) -> subprocess.Popen[bytes]:
        service = start(["webhooks"], self.env, self.logs / "webhooks.log")
        self.workers.append(service)
        return service

    def start_worker(self, model: str = "sdq/tiny") -> subprocess.Popen[bytes]:
        worker = start(["worker", "--model", model], self.env, self.logs / "worker.log")
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int = 1, timeout: float = 120) -> None:
        with self.http() as client:
            wait_until(
                lambda: client.get("/v1/models").json()["results"][0]["workers"] >= count,
                timeout,
                f"{count} worker(s) to report ready",
            )

    def stop_all(self) -> None:
        for worker in self.workers:
            stop(worker)
        if self.api is not None:
            stop(self.api)

    def settings(self) -> Settings:
        return Settings(redis_url=self.redis_url, data_dir=self.data_dir)


TERMINAL = {"succeeded", "failed", "canceled", "aborted"}


def wait_terminal(client: httpx.Client, prediction_id: str, timeout: float = 120) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/v1/predictions/{prediction_id}").json()
        return body if body["status"] in TERMINAL else None

    result: dict[str, Any] = wait_until(done, timeout, f"prediction {prediction_id} to finish", 0.1)
    return result


def wait_all_succeeded(
    client: httpx.Client, job_ids: list[str], survived: str, timeout: float = 180
) -> None:
    """Every job ends within `timeout`, and every one succeeded (`survived` names what they went
    through, for the message)."""

    def statuses() -> dict[str, str]:
        return {
            job_id: client.get(f"/v1/predictions/{job_id}").json()["status"] for job_id in job_ids
        }

    def all_terminal() -> dict[str, str] | None:
        now = statuses()
        return now if set(now.values()) <= TERMINAL else None

    try:
        final = wait_until(all_terminal, timeout, "every accepted job to finish", 0.5)
    except AssertionError:
        raise AssertionError(f"unfinished after {survived}: {statuses()}") from None
    lost = {job_id: status for job_id, status in final.items() if status != "succeeded"}
    assert lost == {}, lost


def start_redis(argv: list[str], folder: Path) -> subprocess.Popen[bytes]:
    """A redis-server (or, with `--sentinel`, a Sentinel) with these arguments, run in `folder`."""
    return subprocess.Popen(
        [find_redis_server(), *argv],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )


def wait_status(
    client: httpx.Client, prediction_id: str, status: str, timeout: float = 60
) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/v1/predictions/{prediction_id}").json()
        return body if body["status"] == status else None

    result: dict[str, Any] = wait_until(
        reached, timeout, f"prediction {prediction_id} to be {status}", 0.05
    )
    return result


@contextlib.contextmanager
def started_api(redis_url: str, data_dir: Path, logs: Path, **env: str) -> Iterator[Stack]:
    """The API alone on a free port (tests that need no worker); logs printed if anything fails."""
    port = free_port()
    running = Stack(redis_url, data_dir, port, logs, process_env(redis_url, data_dir, port, **env))
    try:
        running.start_api()
        yield running
    except BaseException:
        print_logs(logs)
        raise
    finally:
        running.stop_all()


@contextlib.contextmanager
def started_stack(redis_url: str, data_dir: Path, logs: Path, **env: str) -> Iterator[Stack]:
    """API + one sdq/tiny worker on free ports; their logs are printed if anything fails."""
    with started_api(redis_url, data_dir, logs, **env) as running:
        running.start_worker()
        running.wait_for_workers()
        yield running


def print_logs(folder: Path, tail: int = 4000) -> None:
    """The end of every process log in the folder, on stderr (pytest shows it for failures)."""
    for log in sorted(folder.glob("*.log")):
        sys.stderr.write(f"--- {log.name}\n{log.read_text()[-tail:]}\n")


def stream_entries(client: redis.Redis, key: str) -> list[tuple[str, dict[str, str]]]:
    """Every entry of a Redis stream, oldest first, from a client with decode_responses=True."""
    entries = client.xrange(key)
    assert entries is not None
    return cast(list[tuple[str, dict[str, str]]], entries)
