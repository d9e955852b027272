"""The rendered chart run as processes: Redis from the StatefulSet, the API, webhook sender and
scaler Deployments, and the worker Deployments started and stopped by a stand-in kubelet as the
scaler patches their scale through a loopback Kubernetes API that enforces the chart's Role.
Each container runs its rendered args with its rendered environment (the API with the admin key
from the generated Secret); only what a node provides differs (loopback addresses, folders for the
volumes)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from cli.embedded_redis import find_redis_server, free_port
from scaler.kubernetes_actuator import DELETION_COST
from scaler.kubernetes_names import worker_deployment
from sdq.metrics_server import MULTIPROC_ENV
from sdq.webhook_secret import tenant_default_secret
from tests.chart.pods import container_env, expand, only_container, secret_value
from tests.chart.render import EXAMPLES, NAMESPACE, RELEASE, named, objects, render
from tests.fake_kubernetes import FakeKubernetes, serving
from tests.helpers import REPO, print_logs, start, stop, wait_terminal, wait_until
from tests.receiver import Receiver

VALUES = (
    "-f", str(EXAMPLES / "values-cpu-demo.yaml"),
    "-f", str(Path(__file__).parent / "values-processes.yaml"),
)  # fmt: skip


class Node:
    """What a node gives a pod: loopback Services, volume folders, a pod name; logs per pod."""

    def __init__(self, docs: tuple[dict[str, Any], ...], data_dir: Path, scratch: Path) -> None:
        self.docs = docs
        self.data_dir = data_dir
        self.scratch = scratch
        self.redis_port = free_port()
        self.api_port = free_port()
        self.metrics_ports: dict[str, int] = {}  # by pod: each pod has an address of its own
        self.processes: list[subprocess.Popen[bytes]] = []

    def env(self, workload: dict[str, Any], pod_name: str) -> dict[str, str]:
        env = container_env(self.docs, only_container(workload), pod_name)
        service = f"{RELEASE}-redis:6379"
        env = {k: v.replace(service, f"127.0.0.1:{self.redis_port}") for k, v in env.items()}
        folder = self.scratch / pod_name
        folder.mkdir(parents=True, exist_ok=True)
        metrics: dict[str, str] = {}
        if "SDQ_METRICS_PORT" in env:
            port = self.metrics_ports.setdefault(pod_name, free_port())
            metrics = {"SDQ_METRICS_HOST": "127.0.0.1", "SDQ_METRICS_PORT": str(port)}
        if MULTIPROC_ENV in env:  # the emptyDir
            (folder / "metrics").mkdir(exist_ok=True)
            metrics[MULTIPROC_ENV] = str(folder / "metrics")
        return (
            env
            | metrics
            | {
                "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
                "SDQ_DATA_DIR": str(self.data_dir),  # the shared outputs volume
                "SDQ_HOST": "127.0.0.1",
                "SDQ_PORT": str(self.api_port),
                "HOME": str(folder),
                "PYTHONUNBUFFERED": "1",
                **({"SDQ_PROBE_DIR": str(folder / "probes")} if "SDQ_PROBE_DIR" in env else {}),
            }
        )

    def run(
        self, workload: dict[str, Any], pod_name: str, extra: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        container = only_container(workload)
        process = start(container["args"], self.env(workload, pod_name) | (extra or {}),
                        self.scratch / f"{pod_name}.log")  # fmt: skip
        self.processes.append(process)
        return process

    def start_redis(self) -> subprocess.Popen[bytes]:
        statefulset = named(self.docs, "StatefulSet", f"{RELEASE}-redis")
        container = only_container(statefulset)
        env = container_env(self.docs, container, f"{RELEASE}-redis-0")
        conf = named(self.docs, "ConfigMap", f"{RELEASE}-redis")["data"]["redis.conf"]
        folder = self.scratch / "redis-data"
        folder.mkdir()
        path = self.scratch / "redis.conf"
        path.write_text(conf.replace("dir /data", f"dir {folder}"))
        args = [expand(a, env) for a in container["args"]]
        args[0] = str(path)
        process = subprocess.Popen(
            [find_redis_server(), *args, "--port", str(self.redis_port), "--bind", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=folder, start_new_session=True,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def redis_probe(self, authenticated: bool = True) -> str:
        """The StatefulSet's readiness probe (`redis-cli ping`), with the password it expects."""
        statefulset = named(self.docs, "StatefulSet", f"{RELEASE}-redis")
        container = only_container(statefulset)
        command = list(container["readinessProbe"]["exec"]["command"])
        assert command[0] == "redis-cli"
        cli = str(Path(find_redis_server()).with_name("redis-cli"))
        env = container_env(self.docs, container, f"{RELEASE}-redis-0")
        if not authenticated:
            env.pop("REDISCLI_AUTH")
        result = subprocess.run([cli, "-p", str(self.redis_port), *command[1:]], env=env,
                                capture_output=True, text=True, check=False)  # fmt: skip
        return result.stdout.strip()

    def probe(self, workload: dict[str, Any], pod_name: str, probe: str) -> int:
        command = list(only_container(workload)[probe]["exec"]["command"])
        assert command[0] == "python"
        result = subprocess.run([sys.executable, *command[1:]], env=self.env(workload, pod_name),
                                cwd=REPO, capture_output=True, check=False)  # fmt: skip
        return result.returncode


class Kubelet:
    """Stands in for the ReplicaSet controller and kubelet of the worker Deployments: starts or
    stops worker processes until each Deployment has the replicas the scaler set, removing the
    pod with the lowest pod-deletion-cost first, with SIGTERM (graceful)."""

    def __init__(
        self, node: Node, fake: FakeKubernetes, workers: dict[str, dict[str, Any]]
    ) -> None:
        self.node, self.fake, self.workers = node, fake, workers
        self.pods: dict[str, tuple[str, subprocess.Popen[bytes]]] = {}
        self.started: list[str] = []
        self.stopped: dict[str, int | None] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._serial = 0

    def _sync(self) -> None:
        for name, workload in self.workers.items():
            mine = [pod for pod, (owner, _) in self.pods.items() if owner == name]
            desired = self.fake.replicas[name]
            while len(mine) < desired:
                self._serial += 1
                pod = f"{name}-{self._serial}"
                self.pods[pod] = (name, self.node.run(workload, pod))
                self.fake.pods[pod] = {}
                self.started.append(pod)
                mine.append(pod)
            while len(mine) > desired:
                cheapest = min(mine, key=lambda p: int(self.fake.pods[p].get(DELETION_COST, "0")))
                _, process = self.pods.pop(cheapest)
                stop(process, timeout=60)
                self.stopped[cheapest] = process.returncode
                del self.fake.pods[cheapest]
                mine.remove(cheapest)

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self._sync()

    @contextmanager
    def running(self) -> Iterator[Kubelet]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=90)
            for _, process in self.pods.values():
                stop(process)


def scraped_sample(url: str, token: str, series: str) -> float:
    """A sample of a scrape with the metrics token, once it is there."""

    def sample() -> float | None:
        answer = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        found = re.search(rf"^{re.escape(series)} (\S+)$", answer.text, re.MULTILINE)
        return float(found.group(1)) if answer.status_code == 200 and found else None

    value: float = wait_until(sample, 30, series)
    return value


@pytest.fixture
def node(data_dir: Path, tiny_model_dir: Path, tmp_path: Path) -> Iterator[Node]:
    running = Node(render(VALUES), data_dir, tmp_path)
    try:
        yield running
    except BaseException:
        print_logs(tmp_path)
        raise
    finally:
        for process in reversed(running.processes):
            stop(process)


def test_the_rendered_chart_serves_a_job_from_zero_workers_and_back(
    node: Node, tmp_path: Path
) -> None:
    docs = node.docs
    deployments = {d["metadata"]["name"]: d for d in objects(docs, "Deployment")}
    workers = {n: d for n, d in deployments.items() if "-worker-" in n}
    tiny = worker_deployment(RELEASE, "sdq/tiny").name
    [role] = objects(docs, "Role")
    scalable = set(role["rules"][0]["resourceNames"])
    fake = FakeKubernetes(
        namespace=NAMESPACE, replicas=dict.fromkeys(workers, 0), scalable=scalable
    )
    receiver = Receiver().start()
    with ExitStack() as cleanup:
        cleanup.callback(receiver.stop)
        cleanup.enter_context(serving(fake))
        node.start_redis()
        wait_until(lambda: node.redis_probe() == "PONG", 10, "Redis's readiness probe")
        assert node.redis_probe(authenticated=False).startswith("NOAUTH"), "a password is required"
        node.run(deployments[f"{RELEASE}-api"], f"{RELEASE}-api-0")
        api = f"http://127.0.0.1:{node.api_port}"
        readiness = only_container(deployments[f"{RELEASE}-api"])["readinessProbe"]["httpGet"][
            "path"
        ]

        def api_ready() -> bool:
            try:
                return httpx.get(api + readiness, timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(api_ready, 60, "the API's readiness probe")
        node.run(deployments[f"{RELEASE}-webhooks"], f"{RELEASE}-webhooks-0")
        kubeconfig = fake.kubeconfig(tmp_path / "kubeconfig")
        scaler = node.run(deployments[f"{RELEASE}-scaler"], f"{RELEASE}-scaler-0",
                          {"KUBECONFIG": str(kubeconfig)})  # fmt: skip
        kubelet = cleanup.enter_context(Kubelet(node, fake, workers).running())

        # authentication is on: the admin key from the generated Secret creates a client key
        assert httpx.get(api + "/v1/models", timeout=10).status_code == 401
        admin_key = secret_value(docs, f"{RELEASE}-auth", "admin-key")
        admin = {"Authorization": f"Bearer {admin_key}"}
        created_key = httpx.post(api + "/v1/admin/keys", headers=admin, timeout=10,
                                 json={"name": "alice", "role": "client"})  # fmt: skip
        assert created_key.status_code == 201, created_key.text
        alice = {"Authorization": f"Bearer {created_key.json()['key']}"}

        with httpx.Client(base_url=api, timeout=60, headers=alice) as client:
            assert [m["workers"] for m in client.get("/v1/models").json()["results"]] == [0, 0]
            hook = receiver.script("/hook", 200)
            created = client.post("/v1/models/sdq/tiny/predictions", json={
                "input": {"prompt": "a pretty dog", "width": 64, "height": 64,
                          "num_inference_steps": 2},
                "webhook": hook, "webhook_events_filter": ["completed"],
            })  # fmt: skip
            assert created.status_code == 201, created.text
            done = wait_terminal(client, created.json()["id"], timeout=180)
            assert done["status"] == "succeeded", done
            image = httpx.get(done["output"][0], timeout=10)  # a signed link: no key needed
            assert image.status_code == 200 and image.content.startswith(b"\x89PNG")

            # the worker pod passes the probes the chart gives it
            [pod] = [p for p, (owner, _) in kubelet.pods.items() if owner == tiny]
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert node.probe(workers[tiny], pod, probe) == 0, probe

            # the webhook arrives signed with alice's own secret, derived from the one the chart
            # generated, which the API hands her: API and webhook sender share the global one
            wait_until(lambda: receiver.at("/hook"), 30, "the completed webhook")
            [delivery] = receiver.at("/hook")
            secret = client.get("/v1/webhooks/default/secret").json()["key"]
            global_secret = secret_value(docs, f"{RELEASE}-secrets", "webhook-secret")
            assert secret == tenant_default_secret(global_secret, "alice")
            payload = Webhook(secret).verify(delivery.body, delivery.headers)
            assert payload["id"] == done["id"] and payload["status"] == "succeeded"

            # each pod serves its own metrics behind the generated metrics token; the worker's
            # come from its prefork child (the emptyDir)
            token = secret_value(docs, f"{RELEASE}-auth", "metrics-token")
            delivered = 'sdq_webhook_deliveries_total{event="completed",outcome="delivered"}'
            scaled_up = 'sdq_scaler_decisions_total{direction="up",model="sdq/tiny"}'
            for scraped, series in [
                (pod, 'sdq_jobs_finished_total{model="sdq/tiny",status="succeeded"}'),
                (pod, 'sdq_job_predict_seconds_count{model="sdq/tiny"}'),
                (f"{RELEASE}-scaler-0", scaled_up),
                (f"{RELEASE}-webhooks-0", delivered),
            ]:
                url = f"http://127.0.0.1:{node.metrics_ports[scraped]}/metrics"
                assert scraped_sample(url, token, series) >= 1
                assert httpx.get(url, timeout=10).status_code == 401, "no token, no metrics"

            # idle: the scaler marks the pod cheap to delete and scales the Deployment to zero
            wait_until(lambda: fake.replicas[tiny] == 0, 60, "the worker Deployment back at 0")
            wait_until(lambda: pod in kubelet.stopped, 90, "the idle worker pod to stop")
            assert kubelet.stopped[pod] == 0, "a graceful shutdown"
        assert kubelet.started == [pod], "exactly one worker pod was needed"
        assert fake.denied == [], "the chart's Role allowed every call the scaler made"
        assert scaler.poll() is None, "the scaler keeps running"
