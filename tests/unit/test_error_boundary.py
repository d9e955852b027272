"""The last line of the API: any error no handler answered becomes a JSON response in the
dialect's shape with the request id (500, or 503 with Retry-After when Redis is unreachable),
logged once; every response carries `X-Request-Id`. Exercised on a small in-process app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from starlette.testclient import TestClient

from api.error_boundary import ErrorBoundary
from api.request_id import request_id_from


def build() -> FastAPI:
    app = FastAPI()

    @app.get("/ok")
    async def ok() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/{prefix:path}/boom")
    async def boom(prefix: str) -> None:
        raise RuntimeError("secret internals")

    @app.get("/v1/redis")
    async def redis_down() -> None:
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    @app.get("/v1/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"data: 1\n\n"
            raise RuntimeError("mid-stream")

        return StreamingResponse(chunks(), media_type="text/event-stream")

    app.add_middleware(ErrorBoundary)
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(build(), raise_server_exceptions=True) as test_client:
        yield test_client


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.exc_info]


@pytest.mark.parametrize(
    ("path", "message_of"),
    [
        ("/v1/boom", lambda body: body["detail"]),
        ("/sdapi/v1/boom", lambda body: body["detail"]),
        ("/v1/images/boom", lambda body: body["error"]["message"]),
    ],
)
def test_an_unexpected_error_is_a_json_500_in_the_dialects_shape(
    client: TestClient, caplog: pytest.LogCaptureFixture, path: str, message_of: object
) -> None:
    response = client.get(path, headers={"X-Request-Id": "req-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == "req-1"
    assert callable(message_of)
    message = message_of(response.json())
    assert "req-1" in message and "secret internals" not in message
    if path.startswith("/v1/images"):
        assert response.json()["error"]["type"] == "server_error"
    [logged] = tracebacks(caplog)
    assert "req-1" in logged.getMessage() and path in logged.getMessage()


def test_redis_unreachable_is_a_503_with_retry_after_and_one_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.get("/v1/redis")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == 503 and "Redis" in body["detail"]
    assert not tracebacks(caplog)
    [line] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert response.headers["x-request-id"] in line.getMessage()


def test_an_error_after_the_response_started_ends_it_and_is_logged_once(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.get("/v1/stream", headers={"X-Request-Id": "req-sse"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-sse"
    assert response.text == "data: 1\n\n"
    [logged] = tracebacks(caplog)
    assert "req-sse" in logged.getMessage()


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    first, second = (client.get("/ok").headers["x-request-id"] for _ in range(2))
    assert first != second
    assert client.get("/missing").headers["x-request-id"]


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        ("req-42", True),
        ("0b8f6a0e-1f7e-4b5e-9a57-3d3c5f1d2c11", True),
        ("Root=1-67891233-abcdef012345678912345678", True),
        ("abc:def.ghi_jkl", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("a b", False),
        ("<script>", False),
        ("a\nb", False),
        ("\u00e4", False),
        (None, False),
    ],
)
def test_a_sane_request_id_is_kept_any_other_is_replaced(header: str | None, kept: bool) -> None:
    chosen = request_id_from(header)
    assert (chosen == header) is kept
    assert 1 <= len(chosen) <= 128
