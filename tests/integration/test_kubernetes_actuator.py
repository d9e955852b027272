"""The Kubernetes actuator against a small API server in the test (no real one can run here):
the exact requests, the deletion-cost annotations, their order, and retries."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from kubernetes import client

from scaler.kubernetes_actuator import DELETION_COST, KubernetesActuator, WorkerDeployment

NS = "sdq"
SCALE_PATH = f"/apis/apps/v1/namespaces/{NS}/deployments/sdq-worker-tiny/scale"
PODS_PATH = f"/api/v1/namespaces/{NS}/pods"


@dataclass
class FakeKubernetes:
    """Implements just `deployments/{name}/scale` (get, patch) and pods (list, patch)."""

    replicas: int = 3
    pods: dict[str, dict[str, str]] = field(
        default_factory=lambda: {"tiny-a": {}, "tiny-b": {}, "tiny-c": {DELETION_COST: "-1000"}}
    )
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)

    def scale_doc(self) -> dict[str, Any]:
        return {
            "apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {"name": "sdq-worker-tiny", "namespace": NS},
            "spec": {"replicas": self.replicas}, "status": {"replicas": self.replicas},
        }  # fmt: skip

    def pod_list(self) -> dict[str, Any]:
        items = [
            {"metadata": {"name": name, "namespace": NS, "annotations": annotations}}
            for name, annotations in self.pods.items()
        ]
        return {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}


@pytest.fixture
def cluster() -> Iterator[tuple[FakeKubernetes, KubernetesActuator]]:
    fake = FakeKubernetes()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length)) if length else None
            query = parse_qs(url.query)
            fake.requests.append((method, url.path, body if body is not None else query))
            if fake.fail_next:
                self._answer(fake.fail_next.pop(0), {"kind": "Status", "message": "try again"})
                return
            if url.path == SCALE_PATH and method == "GET":
                self._answer(200, fake.scale_doc())
            elif url.path == SCALE_PATH and method == "PATCH":
                fake.replicas = body["spec"]["replicas"]
                self._answer(200, fake.scale_doc())
            elif url.path == PODS_PATH and method == "GET":
                self._answer(200, fake.pod_list())
            elif url.path.startswith(PODS_PATH + "/") and method == "PATCH":
                name = url.path.rsplit("/", 1)[1]
                fake.pods[name].update(body["metadata"]["annotations"])
                self._answer(200, {"metadata": {"name": name, "annotations": fake.pods[name]}})
            else:
                self._answer(404, {"kind": "Status", "message": "not found"})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    configuration = client.Configuration(host=f"http://127.0.0.1:{server.server_address[1]}")
    api = client.ApiClient(configuration)
    actuator = KubernetesActuator(
        apps=client.AppsV1Api(api),
        core=client.CoreV1Api(api),
        namespace=NS,
        deployments={
            "sdq/tiny": WorkerDeployment("sdq-worker-tiny", "app.kubernetes.io/component=worker")
        },
        sleep=lambda _: None,
    )
    yield fake, actuator
    server.shutdown()
    api.close()


def test_reads_replicas_from_the_scale_subresource(
    cluster: tuple[FakeKubernetes, KubernetesActuator],
) -> None:
    fake, actuator = cluster
    replicas = actuator.replicas("sdq/tiny")
    assert (replicas.current, replicas.ready) == (3, 3)
    assert fake.requests == [("GET", SCALE_PATH, {})]


def test_scale_in_marks_busy_pods_expensive_idle_pods_cheap_then_patches_scale(
    cluster: tuple[FakeKubernetes, KubernetesActuator],
) -> None:
    fake, actuator = cluster
    actuator.scale("sdq/tiny", 1, frozenset({"tiny-b:7:ab12cd"}))
    assert fake.requests == [
        ("GET", SCALE_PATH, {}),
        ("GET", PODS_PATH, {"labelSelector": ["app.kubernetes.io/component=worker"]}),
        ("PATCH", f"{PODS_PATH}/tiny-a", {"metadata": {"annotations": {DELETION_COST: "-1000"}}}),
        ("PATCH", f"{PODS_PATH}/tiny-b", {"metadata": {"annotations": {DELETION_COST: "1000"}}}),
        # tiny-c already carries the idle cost: not patched again
        ("PATCH", SCALE_PATH, {"spec": {"replicas": 1}}),
    ]
    assert fake.replicas == 1


def test_scale_out_touches_no_pods(cluster: tuple[FakeKubernetes, KubernetesActuator]) -> None:
    fake, actuator = cluster
    actuator.scale("sdq/tiny", 5, frozenset())
    assert [(m, p) for m, p, _ in fake.requests] == [("GET", SCALE_PATH), ("PATCH", SCALE_PATH)]
    assert fake.replicas == 5


def test_api_errors_are_retried_with_backoff(
    cluster: tuple[FakeKubernetes, KubernetesActuator],
) -> None:
    fake, actuator = cluster
    fake.fail_next = [503, 500]
    slept: list[float] = []
    actuator.sleep = slept.append
    actuator.scale("sdq/tiny", 4, frozenset())
    assert slept == [0.5, 1.0]
    assert fake.replicas == 4


def test_a_forbidden_answer_is_not_retried(
    cluster: tuple[FakeKubernetes, KubernetesActuator],
) -> None:
    fake, actuator = cluster
    fake.fail_next = [403]
    with pytest.raises(client.exceptions.ApiException):
        actuator.replicas("sdq/tiny")
    assert len(fake.requests) == 1
