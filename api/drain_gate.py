"""The middleware applying the drain: calls arriving while it runs get their `DrainAnswer`, and
answers started during it close their connection (the client's next call opens a new one)."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.draining import (
    FAREWELL,
    RECONNECT_MS,
    REFUSAL,
    RETRY_AFTER_S,
    Drain,
    DrainAnswer,
    answer_while_draining,
)
from api.errors import Unavailable, error_body

CLOSE = {"Connection": "close"}


def drain_response(answer: DrainAnswer, path: str) -> Response:
    """The answer to a call refused or told to reconnect during the drain."""
    if answer is DrainAnswer.RECONNECT:
        body = f"retry: {RECONNECT_MS}\n: {FAREWELL}\n\n"
        headers = CLOSE | {"Cache-Control": "no-store"}
        return Response(body, media_type="text/event-stream", headers=headers)
    status, title = Unavailable.status, Unavailable.title
    body_json = error_body(path, status, title, REFUSAL, [])
    headers = CLOSE | {"Retry-After": str(RETRY_AFTER_S)}
    return JSONResponse(body_json, status_code=status, headers=headers)


class DrainGate:
    """Pure ASGI (no buffering): counts the calls in flight for the drain's wait."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if self.drain.draining:
            answer = answer_while_draining(scope["method"], path)
            if answer is not DrainAnswer.SERVE:
                await drain_response(answer, path)(scope, receive, send)
                return

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and self.drain.draining:
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        with self.drain.tracking():
            await self.app(scope, receive, closing)
