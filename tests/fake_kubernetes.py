"""The one fake the suite allows: a tiny Kubernetes API server on loopback (no real one can run
here) implementing just `deployments/{name}/scale` (get, patch) and pods (list, patch) for the
scaler, and the discovery, Deployment and Secret reads that helm's `lookup` makes."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

SCALE = re.compile(r"^/apis/apps/v1/namespaces/(?P<ns>[^/]+)/deployments/(?P<name>[^/]+)/scale$")
PODS = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods(?:/(?P<name>[^/]+))?$")
DEPLOYMENT = re.compile(r"^/apis/apps/v1/namespaces/(?P<ns>[^/]+)/deployments/(?P<name>[^/]+)$")
SECRET = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/secrets/(?P<name>[^/]+)$")
DISCOVERY: dict[str, dict[str, Any]] = {
    "/version": {"major": "1", "minor": "30", "gitVersion": "v1.30.0"},
    "/apis/apps/v1": {
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
        "resources": [{"name": "deployments", "singularName": "deployment", "namespaced": True,
                       "kind": "Deployment", "verbs": ["get", "list", "patch"]}],
    },
    "/api/v1": {
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1",
        "resources": [
            {"name": "secrets", "singularName": "secret", "namespaced": True, "kind": "Secret",
             "verbs": ["get"]},
            {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
             "verbs": ["list", "patch"]},
        ],
    },
}  # fmt: skip


@dataclass
class FakeKubernetes:
    namespace: str = "sdq"
    replicas: dict[str, int] = field(default_factory=dict)  # deployment name -> replicas
    pods: dict[str, dict[str, str]] = field(default_factory=dict)  # pod name -> annotations
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> base64 data
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    # RBAC: when set, scale calls on any other Deployment are refused with 403 (and recorded)
    scalable: set[str] | None = None
    denied: list[str] = field(default_factory=list)
    url: str = ""

    def scale_path(self, deployment: str) -> str:
        return f"/apis/apps/v1/namespaces/{self.namespace}/deployments/{deployment}/scale"

    def pods_path(self, pod: str | None = None) -> str:
        base = f"/api/v1/namespaces/{self.namespace}/pods"
        return f"{base}/{pod}" if pod else base

    def scale_doc(self, name: str) -> dict[str, Any]:
        return {
            "apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {"replicas": self.replicas[name]}, "status": {"replicas": self.replicas[name]},
        }  # fmt: skip

    def deployment_doc(self, name: str) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {"replicas": self.replicas[name]},
        }  # fmt: skip

    def secret_doc(self, name: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": self.namespace}, "data": self.secrets[name],
        }  # fmt: skip

    def pod_list(self) -> dict[str, Any]:
        items = [
            {"metadata": {"name": name, "namespace": self.namespace, "annotations": annotations}}
            for name, annotations in self.pods.items()
        ]
        return {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}

    def answer(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        if self.fail_next:
            return self.fail_next.pop(0), {"kind": "Status", "message": "try again"}
        if (match := SCALE.match(path)) and match["ns"] == self.namespace:
            name = match["name"]
            if self.scalable is not None and name not in self.scalable:
                self.denied.append(f"{method} {path}")
                return 403, {"kind": "Status", "message": f"forbidden: {name}", "code": 403}
            if name not in self.replicas:
                return 404, {"kind": "Status", "message": f"deployment {name} not found"}
            if method == "PATCH":
                self.replicas[name] = body["spec"]["replicas"]
            return 200, self.scale_doc(name)
        if method == "GET" and path in DISCOVERY:
            return 200, DISCOVERY[path]
        if method == "GET" and (match := DEPLOYMENT.match(path)):
            name = match["name"]
            if match["ns"] == self.namespace and name in self.replicas:
                return 200, self.deployment_doc(name)
        if method == "GET" and (match := SECRET.match(path)):
            name = match["name"]
            if match["ns"] == self.namespace and name in self.secrets:
                return 200, self.secret_doc(name)
        if (match := PODS.match(path)) and match["ns"] == self.namespace:
            if method == "GET" and match["name"] is None:
                return 200, self.pod_list()
            if method == "PATCH" and match["name"] in self.pods:
                annotations = self.pods[match["name"]]
                annotations.update(body["metadata"]["annotations"])
                return 200, {"metadata": {"name": match["name"], "annotations": annotations}}
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                     "reason": "NotFound", "message": "not found"}  # fmt: skip

    def kubeconfig(self, path: Path) -> Path:
        """A kubeconfig pointing at this server, for a process that loads one."""
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "scaler", "user": {"token": "test-token"}}],
            "contexts": [{"name": "fake", "context": {
                "cluster": "fake", "user": "scaler", "namespace": self.namespace}}],
        }  # fmt: skip
        path.write_text(json.dumps(config))
        return path


@contextmanager
def serving(fake: FakeKubernetes) -> Iterator[FakeKubernetes]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length)) if length else None
            fake.requests.append(
                (method, url.path, body if body is not None else parse_qs(url.query))
            )
            status, answer = fake.answer(method, url.path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
