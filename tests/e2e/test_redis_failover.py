"""A Sentinel failover under load: the master is SIGKILLed while jobs stream in, Sentinel promotes
its replica, and every job the API accepted (201) finishes. With SDQ_REDIS_REPLICA_ACKS=1 a job
is acknowledged only once a replica holds it; a job no replica confirms is withdrawn. Two
replicas: after the failover the second one follows the promoted master, so jobs keep being
confirmed (with one, the promoted master has none left and every job would be refused)."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from cli.embedded_redis import free_port
from tests.helpers import start_redis, start_up, wait_all_succeeded, wait_until

MASTER = "sdqfailover"
PASSWORD = "failover-secret"
MODEL = "sdq/synthetic"
BEFORE_KILL = 15  # jobs accepted before the master dies
AFTER_FAILOVER = 15  # and after the replica took over
ENV = {
    "SDQ_MODELS": json.dumps([{"id": MODEL, "scaling": {"max_replicas": 2}}]),
    "SDQ_HEARTBEAT_INTERVAL_S": "1",
    "SDQ_HEARTBEAT_TTL_S": "4",
    "SDQ_REAPER_INTERVAL_S": "1",
    "SDQ_SCALER_POLL_INTERVAL_S": "1",
    "SDQ_SYNTHETIC_STEP_SECONDS": "0.02",
    "SDQ_REDIS_REPLICA_ACKS": "1",
    "SDQ_REDIS_REPLICA_ACK_TIMEOUT_MS": "500",
}


@dataclass
class ReplicatedRedis:
    """A master, two replicas and one Sentinel watching them (quorum 1, fast failover)."""

    master: subprocess.Popen[bytes]
    replicas: list[subprocess.Popen[bytes]]
    sentinel: subprocess.Popen[bytes]
    sentinel_port: int
    url: str
    ports: dict[str, int] = field(default_factory=dict)

    def master_port(self) -> int | None:
        probe = redis.Redis(port=self.sentinel_port, socket_connect_timeout=0.5)
        try:
            address = probe.sentinel_get_master_addr_by_name(MASTER)
        except redis.ConnectionError:
            return None
        finally:
            probe.close()
        return int(address[1]) if isinstance(address, tuple) else None

    def replicas_known(self) -> int:
        """The replicas the Sentinel knows of (it learns them from the master's INFO, every
        10 s): killing the master before it knows any would leave nothing to promote."""
        probe = redis.Redis(port=self.sentinel_port, socket_connect_timeout=0.5)
        try:
            return len(probe.sentinel_slaves(MASTER))
        except redis.ConnectionError:
            return 0
        finally:
            probe.close()


def _server(port: int, folder: Path, *extra: str) -> subprocess.Popen[bytes]:
    folder.mkdir()
    return start_redis(
        ["--port", str(port), "--bind", "127.0.0.1", "--requirepass", PASSWORD,
         "--masterauth", PASSWORD, "--save", "", "--appendonly", "no", "--dir", str(folder),
         *extra],
        folder,
    )  # fmt: skip


def _replicas_online(port: int) -> int:
    client = redis.Redis(port=port, password=PASSWORD, socket_connect_timeout=0.5)
    try:
        return int(client.info("replication").get("connected_slaves", 0))
    except redis.ConnectionError:
        return 0
    finally:
        client.close()


@pytest.fixture
def replicated(tmp_path: Path) -> Iterator[ReplicatedRedis]:
    master_port, sentinel_port = free_port(), free_port()
    master = _server(master_port, tmp_path / "master")
    replica_ports = [free_port(), free_port()]
    replicas = [
        _server(port, tmp_path / f"replica{port}", "--replicaof", "127.0.0.1", str(master_port))
        for port in replica_ports
    ]
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {master_port} 1\n"
        f"sentinel auth-pass {MASTER} {PASSWORD}\n"
        f"sentinel down-after-milliseconds {MASTER} 1000\n"
        f"sentinel failover-timeout {MASTER} 10000\n"
    )
    sentinel = start_redis([str(config), "--sentinel"], tmp_path)
    url = f"redis+sentinel://:{PASSWORD}@127.0.0.1:{sentinel_port}/{MASTER}/0"
    running = ReplicatedRedis(master, replicas, sentinel, sentinel_port, url)
    running.ports = {"master": master_port}
    try:
        wait_until(lambda: _replicas_online(master_port) == 2, 20, "the replicas to sync")
        wait_until(lambda: running.master_port() == master_port, 20, "the sentinel to watch")
        wait_until(lambda: running.replicas_known() == 2, 30, "the sentinel to know the replicas")
        yield running
    finally:
        for process in (sentinel, *replicas, master):
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


@dataclass
class Load:
    """Submits jobs one after another from a thread, as a client that retries refusals would;
    keeps the ids of those accepted and counts the rest."""

    client: httpx.Client
    accepted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        index = 0
        while not self.stop.is_set():
            index += 1
            body = {"input": {"prompt": f"job {index}", "num_inference_steps": 5}}
            try:
                answer = self.client.post(f"/v1/models/{MODEL}/predictions", json=body)
            except httpx.TransportError as error:
                self.refused.append(type(error).__name__)
                continue
            if answer.status_code == 201:
                self.accepted.append(answer.json()["id"])
            else:
                assert answer.status_code == 503, answer.text  # only "Redis is away, retry"
                self.refused.append(answer.json()["detail"])
                time.sleep(0.1)
            time.sleep(0.02)


def _submit(client: httpx.Client) -> httpx.Response:
    body = {"input": {"prompt": "one", "num_inference_steps": 2}}
    return client.post(f"/v1/models/{MODEL}/predictions", json=body)


@pytest.fixture
def stack(replicated: ReplicatedRedis, tmp_path: Path, up_log: Path) -> Iterator[httpx.Client]:
    """`sdq up` on the replicated Redis: the API, the scaler and the workers it supervises (a
    worker that could not write an outcome exits, and is started again, as on Kubernetes)."""
    port = free_port()
    up = start_up(tmp_path / "data", port, up_log, SDQ_REDIS_URL=replicated.url, **ENV)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_until(lambda: ready(client), 120, "sdq up to be ready")
            yield client
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            up.wait(timeout=90)


def ready(client: httpx.Client) -> bool:
    try:
        return client.get("/readyz").status_code == 200
    except httpx.TransportError:
        return False


def test_a_job_the_replica_cannot_confirm_is_withdrawn(
    replicated: ReplicatedRedis, stack: httpx.Client
) -> None:
    client = stack
    for replica in replicated.replicas:
        replica.send_signal(signal.SIGSTOP)
    try:
        refused = _submit(client)
    finally:
        for replica in replicated.replicas:
            replica.send_signal(signal.SIGCONT)
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"]
    assert "not confirmed by 1 Redis replica(s) within 500 ms" in refused.json()["detail"]
    assert client.get("/v1/predictions").json()["results"] == [], "nothing half-written"
    # Once the replica has caught up, submissions are confirmed again (a refusal writes nothing).
    wait_until(lambda: _submit(client).status_code == 201, 30, "a confirmed submission")


def test_a_failover_under_load_loses_no_accepted_job(
    replicated: ReplicatedRedis, stack: httpx.Client
) -> None:
    client = stack
    with httpx.Client(base_url=client.base_url, timeout=30) as submitter:
        load = Load(submitter)
        thread = threading.Thread(target=load.run, daemon=True)
        thread.start()
        try:
            wait_until(lambda: len(load.accepted) >= BEFORE_KILL, 60, "jobs before the kill")
            replicated.master.kill()
            replicated.master.wait(timeout=10)
            killed_at = len(load.accepted)
            old = replicated.ports["master"]
            wait_until(lambda: replicated.master_port() not in (old, None), 60, "a promotion")
            try:
                wait_until(
                    lambda: len(load.accepted) >= killed_at + AFTER_FAILOVER, 90, "jobs afterwards"
                )
            except AssertionError as error:
                raise AssertionError(f"{error}; refusals: {load.refused[-5:]}") from None
        finally:
            load.stop.set()
            thread.join(timeout=60)

        wait_all_succeeded(client, load.accepted, "the failover")
