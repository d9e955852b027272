"""The access log: one line per answer on `sdq.access` (method, route template, status, time,
prediction id, tenant, client), never a path, query, header, key or body."""

from __future__ import annotations

import logging

from starlette.types import Scope

from api.auth import principal_in
from api.browser_guards import PROBE_PATHS
from api.http_metrics import Answer

log = logging.getLogger("sdq.access")

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


def log_access(answer: Answer) -> None:
    """The access log's line of one answer (probes and scrapes only at debug)."""
    # Probes and scrapes come every few seconds: their lines only at debug.
    level = logging.DEBUG if answer.scope["path"] in PROBE_PATHS else logging.INFO
    if not log.isEnabledFor(level):
        return
    fields: dict[str, str | int | float] = {
        "method": answer.method,
        "route": answer.route,
        "status": answer.status,
        "duration_ms": round(answer.duration_s * 1000, 1),
        "prediction_id": prediction_id(answer.scope),
        "tenant": tenant(answer.scope),
        "client": client(answer.scope),
    }
    log.log(level, access_line(fields), extra=fields)


def access_line(fields: dict[str, str | int | float]) -> str:
    """`GET /v1/predictions/{prediction_id} 200 3.1 ms prediction=abc tenant=alice client=…`"""
    shown = f" prediction={fields['prediction_id']}" if fields["prediction_id"] != NONE else ""
    return (
        f"{fields['method']} {fields['route']} {fields['status']} {fields['duration_ms']} ms"
        f"{shown} tenant={fields['tenant']} client={fields['client']}"
    )
