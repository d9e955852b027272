"""ASGI middleware that refuses request bodies over the configured size with 413 in the error shape
of the API called, before parsing, counted as they arrive (a chunked body declares no length);
calls that may carry images have their own, larger limit."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PayloadTooLarge, error_body
from sdq.inputs import InvalidField


class BodySizeLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        image_max_bytes: int | None = None,
        image_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.image_max_bytes = image_max_bytes or max_bytes
        self.image_paths = image_paths

    def limit(self, path: str) -> int:
        return self.image_max_bytes if path.startswith(self.image_paths) else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"])
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > limit:
                await self._refuse(send, scope["path"], limit)
                return
            if b"transfer-encoding" not in headers:
                # The server hands on no more than the declared length: nothing to count.
                await self.app(scope, receive, send)
                return
        seen = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Answer 413 now; the app sees a client that went away and its reply is dropped.
                    if not started and not refused:
                        refused = True
                        await self._refuse(send, scope["path"], limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _refuse(self, send: Send, path: str, limit: int) -> None:
        why = InvalidField("body", f"exceeds the limit of {limit} bytes")
        detail = f"request body exceeds the limit of {limit} bytes"
        answer = error_body(path, PayloadTooLarge.status, PayloadTooLarge.title, detail, [why])
        body = json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
