"""`sdq scaler` as a process: local workers from zero to max and back; Kubernetes Deployments."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from scaler.kubernetes_actuator import DELETION_COST, IDLE_COST
from scaler.kubernetes_names import worker_deployment
from sdq.store import redis_keys as keys
from tests.fake_kubernetes import FakeKubernetes
from tests.fake_kubernetes import serving as fake_cluster
from tests.helpers import Stack, start, stop, wait_terminal, wait_until

MODEL = "sdq/synthetic"
BURST = 6


@pytest.fixture
def api_only(stack: Stack, redis_client: redis.Redis) -> Iterator[Stack]:
    """The module's API with no worker, on an empty database (earlier modules leave jobs)."""
    for worker in stack.workers:
        stop(worker)
    stack.workers.clear()
    redis_client.flushdb()
    yield stack


@contextlib.contextmanager
def kubernetes_scaling(
    stack: Stack, fake: FakeKubernetes, tmp_path: Path
) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    """The fake API server serving, sdq/tiny's policy fast (its old one back after), and the
    environment of a scaler in Kubernetes mode against that server."""
    with fake_cluster(fake), stack.http() as client:
        policy = client.get("/v1/admin/models/sdq/tiny/scaling").json()
        fast = policy | {"scale_down_delay_s": 0, "idle_to_zero_s": 0}
        assert client.put("/v1/admin/models/sdq/tiny/scaling", json=fast).status_code == 200
        env = stack.env | {
            "SDQ_SCALER_POLL_INTERVAL_S": "0.3",
            "SDQ_SCALER_ACTUATOR": "kubernetes",
            "KUBECONFIG": str(fake.kubeconfig(tmp_path / "kubeconfig")),
        }
        try:
            yield client, env
        finally:
            client.put("/v1/admin/models/sdq/tiny/scaling", json=policy)


def workers(client: httpx.Client) -> int:
    count: int = client.get(f"/v1/models/{MODEL}").json()["workers"]
    return count


def test_a_burst_scales_from_zero_to_max_and_back_to_zero(api_only: Stack, tmp_path: Path) -> None:
    with api_only.http() as client:
        policy = client.get(f"/v1/admin/models/{MODEL}/scaling").json()
        fast = policy | {"scale_down_delay_s": 0, "idle_to_zero_s": 2, "max_replicas": 3}
        assert client.put(f"/v1/admin/models/{MODEL}/scaling", json=fast).status_code == 200
        scaler = start(
            ["scaler"],
            api_only.env | {"SDQ_SCALER_POLL_INTERVAL_S": "0.5"},
            tmp_path / "scaler.log",
        )
        try:
            time.sleep(2)
            assert workers(client) == 0, "no work: no worker"
            jobs = [
                client.post(
                    "/v1/predictions",
                    json={"model": MODEL, "input": {"prompt": f"{i}", "num_inference_steps": 50}},
                ).json()
                for i in range(BURST)
            ]
            wait_until(lambda: workers(client) == 3, 60, "the pool to reach max_replicas")
            done = [wait_terminal(client, job["id"], timeout=120) for job in jobs]
            assert [d["status"] for d in done] == ["succeeded"] * BURST
            assert "synthetic" in done[0]["logs"], "responses say the model is synthetic"
            wait_until(lambda: workers(client) == 0, 60, "the idle workers to be stopped")
            events = client.get("/v1/admin/scaling/events").json()["events"]
            moves = [(e["from"], e["to"]) for e in reversed(events) if e["model"] == MODEL]
            assert moves[0][0] == 0 and max(to for _, to in moves) == 3, moves
            assert moves[-1][1] == 0, moves
            assert all(to >= 0 for _, to in moves)
        finally:
            stop(scaler)
        assert scaler.returncode == 0, (tmp_path / "scaler.log").read_text()[-3000:]
        client.put(f"/v1/admin/models/{MODEL}/scaling", json=policy)


def test_kubernetes_mode_patches_the_charts_worker_deployment(
    api_only: Stack, tmp_path: Path
) -> None:
    """`sdq scaler` with SDQ_SCALER_ACTUATOR=kubernetes and a kubeconfig, against the fake API
    server: a queued job scales the chart-named Deployment 0 -> 1; once it is gone, the idle
    pod is marked cheap to delete and the Deployment goes back to 0."""
    tiny = worker_deployment("sdq", "sdq/tiny")
    synthetic = worker_deployment("sdq", "sdq/synthetic")
    fake = FakeKubernetes(namespace="gpu", replicas={tiny.name: 0, synthetic.name: 0})
    with kubernetes_scaling(api_only, fake, tmp_path) as (client, env):
        scaler = start(["scaler"], env, tmp_path / "scaler.log")
        try:
            job = client.post(
                "/v1/predictions", json={"model": "sdq/tiny", "input": {"prompt": "x"}}
            ).json()
            wait_until(lambda: fake.replicas[tiny.name] == 1, 30, "the Deployment scaled to 1")
            fake.pods = {f"{tiny.name}-7d9f-abcde": {}}  # the pod the ReplicaSet made
            client.post(f"/v1/predictions/{job['id']}/cancel").raise_for_status()
            wait_until(lambda: fake.replicas[tiny.name] == 0, 30, "the Deployment back at 0")
        finally:
            stop(scaler)
        assert scaler.returncode == 0, (tmp_path / "scaler.log").read_text()[-3000:]

    changes = [
        (method, path, body)
        for method, path, body in fake.requests
        if method == "PATCH" or path == fake.pods_path()
    ]
    assert changes == [
        ("PATCH", fake.scale_path(tiny.name), {"spec": {"replicas": 1}}),
        ("GET", fake.pods_path(), {"labelSelector": [tiny.pod_selector]}),
        (
            "PATCH",
            fake.pods_path(f"{tiny.name}-7d9f-abcde"),
            {"metadata": {"annotations": {DELETION_COST: IDLE_COST}}},
        ),
        ("PATCH", fake.scale_path(tiny.name), {"spec": {"replicas": 0}}),
    ]
    assert fake.replicas[synthetic.name] == 0, "no work for the other model: untouched"


def test_two_scalers_one_scales_and_the_other_takes_over_when_it_dies(
    api_only: Stack, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """Two `sdq scaler` replicas against the fake API server: one holds the scaler lease and
    scales; SIGKILLed, it is replaced by the other within the lease (3 rounds), which scales."""
    tiny = worker_deployment("sdq", "sdq/tiny")
    synthetic = worker_deployment("sdq", "sdq/synthetic")
    fake = FakeKubernetes(namespace="gpu", replicas={tiny.name: 0, synthetic.name: 0})
    with kubernetes_scaling(api_only, fake, tmp_path) as (client, env):
        scalers = [start(["scaler"], env, tmp_path / f"scaler-{n}.log") for n in (1, 2)]
        try:
            lease = keys.lease("scaler")
            wait_until(lambda: redis_client.hget(lease, "holder"), 30, "a scaler to take the lease")
            holder = str(redis_client.hget(lease, "holder"))
            [leader] = [s for s in scalers if f":{s.pid}:" in holder]
            [other] = [s for s in scalers if s is not leader]
            job = client.post(
                "/v1/predictions", json={"model": "sdq/tiny", "input": {"prompt": "x"}}
            ).json()
            wait_until(lambda: fake.replicas[tiny.name] == 1, 30, "the Deployment scaled to 1")
            stop(leader, signal.SIGKILL)
            wait_until(
                lambda: f":{other.pid}:" in str(redis_client.hget(lease, "holder")),
                30,
                "the other scaler to take the lease over",
            )
            assert redis_client.hget(lease, "token") == "2"
            client.post(f"/v1/predictions/{job['id']}/cancel").raise_for_status()
            wait_until(lambda: fake.replicas[tiny.name] == 0, 30, "the survivor to scale to 0")
        finally:
            for scaler in scalers:
                stop(scaler)
    scale_ups = [
        body for method, path, body in fake.requests
        if method == "PATCH" and path == fake.scale_path(tiny.name)
    ]  # fmt: skip
    assert scale_ups == [{"spec": {"replicas": 1}}, {"spec": {"replicas": 0}}], "one scaler each"
    survivor_log = (tmp_path / f"scaler-{scalers.index(other) + 1}.log").read_text()
    assert "standing by" in survivor_log and "holding the scaler lease (token 2)" in survivor_log
