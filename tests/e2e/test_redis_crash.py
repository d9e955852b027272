"""Redis SIGKILLed under load in `sdq up`: JSON 503s while it is down, `sdq up` restarts it on the
same port from its AOF, and every job accepted before the crash still succeeds afterwards."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
import psutil
import redis

from cli.embedded_redis import EmbeddedRedis, free_port
from sdq.store import redis_keys as keys
from tests.helpers import (
    Stack,
    print_logs,
    process_env,
    start_up,
    wait_all_succeeded,
    wait_status,
    wait_until,
)

JOBS = 30
STEPS = 8
STEP_S = "0.05"  # ~0.4 s a job: the queue is still long when Redis dies
# Two workers at most (the default would start ten on two shared cores).
MODELS = [{"id": "sdq/synthetic", "scaling": {"max_replicas": 2}}]


def redis_child(up: subprocess.Popen[bytes]) -> psutil.Process | None:
    """The running redis-server among `sdq up`'s children (not a zombie)."""
    for child in psutil.Process(up.pid).children(recursive=True):
        try:
            if "redis-server" in child.name() and child.status() != psutil.STATUS_ZOMBIE:
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def gone(process: psutil.Process) -> bool:
    try:
        return bool(process.status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def listening_port(process: psutil.Process) -> int:
    [port] = {c.laddr.port for c in process.net_connections("tcp") if c.status == "LISTEN"}
    return int(port)


def ready(client: httpx.Client) -> bool:
    try:
        return client.get("/readyz").status_code == 200
    except httpx.TransportError:
        return False


def submit(client: httpx.Client, index: int) -> httpx.Response:
    body = {"input": {"prompt": f"job {index}", "num_inference_steps": STEPS}}
    return client.post("/v1/models/sdq/synthetic/predictions", json=body)


def test_redis_sigkilled_under_load_is_restarted_and_no_accepted_job_is_lost(
    tmp_path: Path, up_log: Path
) -> None:
    port = free_port()
    up = start_up(
        tmp_path / "data",
        port,
        up_log,
        SDQ_MODELS=json.dumps(MODELS),
        SDQ_SYNTHETIC_STEP_SECONDS=STEP_S,
        SDQ_HEARTBEAT_INTERVAL_S="1",
        SDQ_HEARTBEAT_TTL_S="4",
        SDQ_REAPER_INTERVAL_S="1",
        SDQ_SCALER_POLL_INTERVAL_S="1",
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_until(lambda: ready(client), 120, "sdq up to be ready")
            accepted = []
            for index in range(JOBS):
                created = submit(client, index)
                assert created.status_code == 201, created.text
                accepted.append(created.json()["id"])

            def some_done() -> bool:
                done = client.get(f"/v1/predictions/{accepted[0]}").json()["status"]
                return bool(done == "succeeded")

            wait_until(some_done, 120, "the first job to succeed (workers started)")
            server = redis_child(up)
            assert server is not None
            old_pid, old_port = server.pid, listening_port(server)

            # Hold the supervisor, so the outage lasts until it has been looked at.
            up.send_signal(signal.SIGSTOP)
            try:
                server.send_signal(signal.SIGKILL)
                wait_until(lambda: gone(server), 10, "redis-server to die")
                refused = submit(client, -1)
                assert refused.status_code == 503, refused.text
                assert refused.headers["content-type"] == "application/json"
                assert refused.headers["retry-after"]
                assert "Redis" in refused.json()["detail"]
                read = client.get(f"/v1/predictions/{accepted[-1]}")
                assert read.status_code == 503, read.text
            finally:
                up.send_signal(signal.SIGCONT)

            restarted = wait_until(lambda: redis_child(up), 60, "sdq up to restart Redis")
            assert restarted.pid != old_pid
            wait_until(lambda: ready(client), 60, "the API to reach Redis again")
            assert listening_port(restarted) == old_port

            wait_all_succeeded(client, accepted, "the restart")
            after = submit(client, JOBS)
            assert after.status_code == 201, after.text
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            up.wait(timeout=90)


def test_a_queued_job_whose_message_was_lost_is_sent_again_and_runs(tmp_path: Path) -> None:
    """A crash can lose a message whose job the store kept (popped by a consumer whose reply was
    cut off): an idle worker that finds the store's queued set non-empty and the queue empty for
    a while sends the job again."""
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False).start()
    port = free_port()
    env = process_env(server.url, tmp_path / "data", port, SDQ_SYNTHETIC_STEP_SECONDS=STEP_S)
    running = Stack(server.url, tmp_path / "data", port, tmp_path, env)
    client = redis.Redis.from_url(server.url, decode_responses=True)
    try:
        running.start_api()
        with running.http() as http:
            created = submit(http, 0)
            assert created.status_code == 201, created.text
            job_id = created.json()["id"]
            assert client.delete(keys.queue("sdq/synthetic")) == 1  # the message, gone
            running.start_worker("sdq/synthetic")
            wait_status(http, job_id, "succeeded", timeout=120)
    except BaseException:
        print_logs(tmp_path)
        raise
    finally:
        client.close()
        running.stop_all()
        server.stop()
