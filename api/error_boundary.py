"""The API's outermost middleware: a request id on every response, and every error no handler
answered turned into JSON in the dialect's shape (503 with Retry-After when Redis is unreachable,
else 500), logged once with the request id. Pure ASGI, so errors raised while a response streams
(server-sent events) are caught too."""

from __future__ import annotations

import contextlib
import logging

from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import RETRY_AFTER_S, error_body
from api.redis_outage import describe, redis_unreachable
from api.request_id import HEADER, request_id_from

log = logging.getLogger(__name__)

_HEADER = HEADER.encode()


class ErrorBoundary:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(_HEADER)
        request_id = request_id_from(sent.decode("latin-1") if sent is not None else None)
        started = finished = False

        async def send_with_id(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != _HEADER]
                message = {**message, "headers": [*headers, (_HEADER, request_id.encode())]}
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            log.info("%s %s: the client went away [request %s]", *_call(scope), request_id)
        except Exception as error:
            answer = _answer(scope, error, request_id)
            if not started:
                await answer(scope, receive, send_with_id)
            elif not finished:  # mid-stream: nothing more can be said; end the response cleanly
                with contextlib.suppress(Exception):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _call(scope: Scope) -> tuple[str, str]:
    return scope["method"], scope["path"]


def _answer(scope: Scope, error: Exception, request_id: str) -> JSONResponse:
    """Log the error (one line for an outage, the traceback for anything else) and build the
    answer in the dialect of the path."""
    method, path = _call(scope)
    extra = {"request_id": request_id}
    if redis_unreachable(error):
        log.warning(
            "%s %s: 503, Redis unreachable (%s) [request %s]",
            method,
            path,
            describe(error),
            request_id,
            extra=extra,
        )
        status, title = 503, "Service unavailable"
        detail = f"Redis (the job store) is unreachable; retry in {RETRY_AFTER_S} s"
        headers = {"Retry-After": str(RETRY_AFTER_S)}
    else:
        log.error(
            "%s %s: unexpected error [request %s]",
            method,
            path,
            request_id,
            exc_info=error,
            extra=extra,
        )
        status, title = 500, "Internal error"
        detail = f"unexpected error; the server log has it under request id {request_id}"
        headers = {}
    body = error_body(path, status, title, detail, [])
    return JSONResponse(body, status_code=status, headers=headers)
