"""The `/metrics` of a worker, scaler or webhook sender (SDQ_METRICS_PORT, set by the Helm chart):
Prometheus' text format from a small HTTP server on a daemon thread, behind the metrics token.
Under PROMETHEUS_MULTIPROC_DIR it serves the sum of every process writing there (a worker's
prefork child records the job metrics; its parent serves them), else this process's own."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from sdq.metrics_access import MetricsAccess, may_read, metrics_access
from sdq.settings import Settings

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PATH = "/metrics"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def process_registry(multiproc_dir: str | None) -> Collector:
    """Every process's metrics under a multiprocess folder (read at each scrape), else this
    process's default registry."""
    if not multiproc_dir:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=multiproc_dir)  # type: ignore[no-untyped-call]
    return registry


def _json(
    start_response: StartResponse, status: str, detail: str, *extra: tuple[str, str]
) -> list[bytes]:
    body = json.dumps({"detail": detail}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *extra]
    start_response(status, headers)
    return [body]


def metrics_app(registry: Collector, access: MetricsAccess) -> WsgiApp:
    """GET /metrics in the text format for a scrape `access` lets in; JSON errors otherwise."""
    exposition = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            return _json(start_response, "404 Not Found", f"not found: only GET {PATH} is served")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _json(start_response, "405 Method Not Allowed", f"{PATH} takes GET",
                         ("Allow", "GET, HEAD"))  # fmt: skip
        if not may_read(access, environ.get("HTTP_AUTHORIZATION")):
            return _json(start_response, "401 Unauthorized",
                         "send the metrics token: `Authorization: Bearer <SDQ_METRICS_TOKEN>`",
                         ("WWW-Authenticate", "Bearer"))  # fmt: skip
        body: Iterable[bytes] = exposition(environ, start_response)
        return body

    return app


class _QuietHandler(WSGIRequestHandler):
    """No line per scrape on stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


@dataclass
class MetricsServer:
    """A running metrics endpoint; `close` stops it (the process's exit does too)."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve(app: WsgiApp, host: str, port: int) -> MetricsServer:
    """Listen on host:port (0: any free port) and answer on a daemon thread."""
    server_class = _Server6 if ":" in host else _Server
    server = make_server(host.strip("[]"), port, app, server_class, _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True)
    thread.start()
    return MetricsServer(host, server.server_port, server, thread)


def start_metrics_server(settings: Settings, component: str) -> MetricsServer | None:
    """The process's metrics endpoint when SDQ_METRICS_PORT asks for one. Never fails the
    process: a refused or busy address is logged and the process runs on without it."""
    if settings.metrics_port is None:
        return None
    access = metrics_access(settings)
    if access.refusal is not None:
        log.error("%s: %s", component, access.refusal)
        return None
    registry = process_registry(os.environ.get(MULTIPROC_ENV))
    try:
        server = serve(metrics_app(registry, access), settings.metrics_host, settings.metrics_port)
    except OSError as error:
        where = f"{settings.metrics_host}:{settings.metrics_port}"
        log.error("%s: cannot serve metrics on %s: %s", component, where, error)
        return None
    log.info(
        "%s metrics on http://%s:%d%s (%s)",
        component,
        settings.metrics_host,
        server.port,
        PATH,
        "metrics token required" if access.token else "open",
    )
    return server
