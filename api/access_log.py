"""The access log: one line per answer on `sdq.access` (method, route template, status, time,
prediction id, tenant, client), never a path, query, header, key or body."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import principal_in
from api.http_metrics import CLIENT_CLOSED, METHODS, RouteTemplates

log = logging.getLogger("sdq.access")

# Probes and scrapes answer every few seconds: their lines only at debug.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
NONE = "-"
ID_MAX = 64  # a longer "prediction id" is no id of ours: cut, not logged whole


def prediction_id(scope: Scope) -> str:
    """The `prediction_id` path parameter of the route that answered; `-` when it has none."""
    value = scope.get("path_params", {}).get("prediction_id")
    if not isinstance(value, str) or not value or not value.isprintable():
        return NONE
    return value[:ID_MAX]


def tenant(scope: Scope) -> str:
    """The calling key's tenant; `-` for no key (refused, open paths, access without keys)."""
    caller = principal_in(scope)
    return caller.tenant if caller is not None and caller.key_id is not None else NONE


def client(scope: Scope) -> str:
    address = scope.get("client")
    return str(address[0]) if address else NONE


class AccessLog:
    """Logs each request once its answer has been sent (or its caller has gone: 499). Added
    outermost, so refused requests and the error boundary's answers are logged too."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.template = RouteTemplates(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        level = logging.DEBUG if scope["path"] in PROBE_PATHS else logging.INFO
        if not log.isEnabledFor(level):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = CLIENT_CLOSED

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        except Exception:
            status = 500 if status == CLIENT_CLOSED else status
            raise
        finally:
            fields = {
                "method": scope["method"] if scope["method"] in METHODS else "other",
                "route": self.template(scope),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "prediction_id": prediction_id(scope),
                "tenant": tenant(scope),
                "client": client(scope),
            }
            log.log(level, access_line(fields), extra=fields)


def access_line(fields: dict[str, str | int | float]) -> str:
    """`GET /v1/predictions/{prediction_id} 200 3.1 ms prediction=abc tenant=alice client=…`"""
    shown = f" prediction={fields['prediction_id']}" if fields["prediction_id"] != NONE else ""
    return (
        f"{fields['method']} {fields['route']} {fields['status']} {fields['duration_ms']} ms"
        f"{shown} tenant={fields['tenant']} client={fields['client']}"
    )
