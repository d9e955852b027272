"""Kubernetes as the actuator: the deployment's scale subresource, and pod-deletion-cost
annotations so that the ReplicaSet removes idle worker pods, never busy ones first."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from scaler.actuator import Replicas
from scaler.kubernetes_names import WorkerDeployment

log = logging.getLogger(__name__)

DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
IDLE_COST = "-1000"
BUSY_COST = "1000"
RETRYABLE = {409, 429, 500, 502, 503, 504}

T = TypeVar("T")


@dataclass
class KubernetesActuator:
    """Needs RBAC: get/patch `deployments/scale` on the worker deployments, list/patch `pods`."""

    apps: client.AppsV1Api
    core: client.CoreV1Api
    namespace: str
    deployments: dict[str, WorkerDeployment]
    attempts: int = 5
    backoff_s: float = 0.5
    sleep: Callable[[float], None] = field(default=time.sleep)

    def _retry(self, what: str, call: Callable[[], T]) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return call()
            except ApiException as error:
                if error.status not in RETRYABLE or attempt == self.attempts:
                    raise
                delay = self.backoff_s * 2 ** (attempt - 1)
                log.warning("%s: HTTP %s, retry %d in %.1f s", what, error.status, attempt, delay)
                self.sleep(delay)
        raise AssertionError("unreachable")

    def capacity(self, model_id: str) -> int | None:
        return None  # the cluster's autoscaler adds GPU nodes; max_replicas is the limit

    def replicas(self, model_id: str) -> Replicas:
        target = self.deployments[model_id]
        scale: Any = self._retry(
            f"read scale of {target.name}",
            lambda: self.apps.read_namespaced_deployment_scale(target.name, self.namespace),
        )
        return Replicas(scale.spec.replicas or 0, scale.status.replicas or 0)

    def scale(self, model_id: str, desired: int, busy_worker_ids: frozenset[str]) -> None:
        target = self.deployments[model_id]
        current = self.replicas(model_id).current
        if desired < current:
            self._mark_deletion_costs(target, busy_worker_ids)
        self._retry(
            f"scale {target.name} to {desired}",
            lambda: self.apps.patch_namespaced_deployment_scale(
                target.name, self.namespace, {"spec": {"replicas": desired}}
            ),
        )

    def _mark_deletion_costs(
        self, target: WorkerDeployment, busy_worker_ids: frozenset[str]
    ) -> None:
        """Busy pods get a high deletion cost, idle pods a low one: the ReplicaSet removes the
        cheapest first. A worker's id starts with its pod name (POD_NAME from the downward API)."""
        pods: Any = self._retry(
            f"list pods of {target.name}",
            lambda: self.core.list_namespaced_pod(
                self.namespace, label_selector=target.pod_selector
            ),
        )
        for pod in pods.items:
            name = pod.metadata.name
            busy = any(worker.startswith(f"{name}:") for worker in busy_worker_ids)
            cost = BUSY_COST if busy else IDLE_COST
            if (pod.metadata.annotations or {}).get(DELETION_COST) == cost:
                continue
            patch = {"metadata": {"annotations": {DELETION_COST: cost}}}
            annotate = functools.partial(
                self.core.patch_namespaced_pod, name, self.namespace, patch
            )
            self._retry(f"annotate {name}", annotate)
