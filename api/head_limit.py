"""The HTTP/1.1 protocol `sdq api` serves with: uvicorn's httptools parser (which keeps a request's
URL and headers whatever their size) with the request line and headers held to a limit; past it,
414 or 431 in the error shape of the API called, and the connection ends."""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.errors import error_body
from sdq.inputs import InvalidField

log = logging.getLogger(__name__)

# How long a refused connection is read (and dropped) after its answer before it is closed.
LINGER_S = 2.0


class HeadTooLarge(Exception):
    """Raised in a parser callback to stop parsing (httptools reports it as a parser error)."""


class BoundedHttpTools(HttpToolsProtocol):
    """The URL is checked as it arrives and the whole head when it is complete, before the app
    sees it. A head still incomplete is checked after each read (httptools gathers a header whole
    before it hands it on), so it is refused at most one read (256 KiB) past the limit; a
    pipelined request's head that starts in the middle of a read may take one read more."""

    max_head_bytes = 64 * 1024

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_open = True  # the next bytes are a request's line and headers
        self.head_bytes = 0
        self.head_from_start = True  # this head began at the start of a read
        self.refusal: HTTPStatus | None = None

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.max_head_bytes:
            self.refusal = HTTPStatus.REQUEST_URI_TOO_LONG
            raise HeadTooLarge  # uvicorn answers a parser error with send_400_response

    def on_headers_complete(self) -> None:
        self.head_open = False
        # As sent but for the spaces around each colon and the request line's method and version.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.max_head_bytes:
            self.refusal = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
            raise HeadTooLarge
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.head_open, self.head_bytes, self.head_from_start = True, 0, False

    def data_received(self, data: bytes) -> None:
        if self.refusal is not None:
            return  # read and dropped until the connection closes (see `refuse`)
        within_head = self.head_open
        super().data_received(data)
        if self.refusal is not None or not (within_head and self.head_open):
            self.head_from_start = True
            return
        if self.head_from_start:
            self.head_bytes += len(data)
        self.head_from_start = True
        if self.head_bytes > self.max_head_bytes:
            self.refusal = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
            self.refuse()

    def send_400_response(self, msg: str) -> None:
        if self.refusal is None:
            super().send_400_response(msg)
        else:
            self.refuse()

    def refuse(self) -> None:
        status = self.refusal or HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
        path = getattr(self, "url", b"").split(b"?", 1)[0].decode("latin-1")
        detail, why = refusal(status, self.max_head_bytes)
        body = error_body(path, status, status.phrase, detail, [why])
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "unknown"
        log.warning("refused a request from %s with %s: %s", client, int(status), detail)
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # a pipelined request's answer is still being written
            return
        content = json.dumps(body).encode()
        headers = [
            *self.server_state.default_headers,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
            (b"connection", b"close"),
        ]
        lines = [f"HTTP/1.1 {int(status)} {status.phrase}".encode()]
        lines += [name + b": " + value for name, value in headers]
        self.transport.write(b"\r\n".join([*lines, b"", content]))
        # Closing with bytes unread would reset the connection, and the client might lose the
        # answer: end our side, drop what still comes, close when the client does or later.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)


def refusal(status: HTTPStatus, limit: int) -> tuple[str, InvalidField]:
    """What the answer to a URL (414) or a head (431) over `limit` says, and the field it names."""
    if status is HTTPStatus.REQUEST_URI_TOO_LONG:
        field, what = "url", "the URL exceeds"
    else:
        field, what = "headers", "the request line and headers exceed"
    detail = f"{what} the limit of {limit} bytes (SDQ_MAX_HEADER_BYTES)"
    return detail, InvalidField(field, f"exceeds the limit of {limit} bytes (SDQ_MAX_HEADER_BYTES)")


def bounded_http(max_head_bytes: int) -> type[asyncio.Protocol]:
    """The protocol class to give uvicorn (`uvicorn.Config(http=...)`)."""
    return type("BoundedHttpTools", (BoundedHttpTools,), {"max_head_bytes": max_head_bytes})
