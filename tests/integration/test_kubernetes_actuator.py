"""The Kubernetes actuator against a small API server in the test (no real one can run here):
the exact requests, the deletion-cost annotations, their order, and retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from scaler.kubernetes_actuator import DELETION_COST, KubernetesActuator
from scaler.kubernetes_names import WorkerDeployment
from tests.fake_kubernetes import FakeKubernetes, serving

NS = "sdq"
DEPLOYMENT = "sdq-worker-tiny"
SCALE_PATH = f"/apis/apps/v1/namespaces/{NS}/deployments/{DEPLOYMENT}/scale"
PODS_PATH = f"/api/v1/namespaces/{NS}/pods"


@pytest.fixture
def cluster() -> Iterator[tuple[FakeKubernetes, KubernetesActuator]]:
    fake = FakeKubernetes(
        namespace=NS,
        replicas={DEPLOYMENT: 3},
        pods={"tiny-a": {}, "tiny-b": {}, "tiny-c": {DELETION_COST: "-1000"}},
    )
    with serving(fake):
        api = client.ApiClient(client.Configuration(host=fake.url))
        actuator = KubernetesActuator(
            apps=client.AppsV1Api(api),
            core=client.CoreV1Api(api),
            namespace=NS,
            deployments={
                "sdq/tiny": WorkerDeployment(DEPLOYMENT, "app.kubernetes.io/component=worker")
            },
            sleep=lambda _: None,
        )
        yield fake, actuator
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
    assert fake.replicas[DEPLOYMENT] == 1


def test_scale_out_touches_no_pods(cluster: tuple[FakeKubernetes, KubernetesActuator]) -> None:
    fake, actuator = cluster
    actuator.scale("sdq/tiny", 5, frozenset())
    assert [(m, p) for m, p, _ in fake.requests] == [("GET", SCALE_PATH), ("PATCH", SCALE_PATH)]
    assert fake.replicas[DEPLOYMENT] == 5


def test_api_errors_are_retried_with_backoff(
    cluster: tuple[FakeKubernetes, KubernetesActuator],
) -> None:
    fake, actuator = cluster
    fake.fail_next = [503, 500]
    slept: list[float] = []
    actuator.sleep = slept.append
    actuator.scale("sdq/tiny", 4, frozenset())
    assert slept == [0.5, 1.0]
    assert fake.replicas[DEPLOYMENT] == 4


def test_a_forbidden_answer_is_not_retried(
    cluster: tuple[FakeKubernetes, KubernetesActuator],
) -> None:
    fake, actuator = cluster
    fake.fail_next = [403]
    with pytest.raises(client.exceptions.ApiException):
        actuator.replicas("sdq/tiny")
    assert len(fake.requests) == 1
