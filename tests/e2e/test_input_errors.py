"""Odd input is a 4xx naming the field (an oversized URL, head or body too, in the dialect's shape),
and any error the API did not expect is a JSON 500 with a request id, logged once: a real API
process on real Redis, over loopback HTTP (no worker needed)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from cli.embedded_redis import EmbeddedRedis
from sdq.job import new_job_id
from tests.file_links import signed_file_path
from tests.helpers import Stack, wait_until


@pytest.fixture
def client(api: Stack) -> Iterator[httpx.Client]:
    with api.http() as http:
        yield http


@pytest.fixture
def store(redis_server: EmbeddedRedis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()


def api_log(api: Stack) -> str:
    return (api.logs / "api.log").read_text()


def test_prefer_wait_with_a_unicode_digit_is_422_naming_prefer(client: httpx.Client) -> None:
    response = client.post(
        "/v1/predictions",
        json={"model": "sdq/tiny", "input": {"prompt": "x"}},
        headers={b"Prefer": b"wait=\xb2"},  # "²" in latin-1: isdigit() says yes, int() no
    )
    assert response.status_code == 422, response.text
    assert response.json()["invalid_fields"][0]["field"] == "Prefer"


@pytest.mark.parametrize(
    "cursor",
    ["abc", "1:abc", "abc:" + "a" * 26, "\u00b2:" + "a" * 26, "nan:" + "a" * 26, "1", ":", "(1:x"],
)
def test_a_cursor_not_from_a_previous_page_is_422_naming_cursor(
    client: httpx.Client, cursor: str
) -> None:
    response = client.get("/v1/predictions", params={"cursor": cursor})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["invalid_fields"][0]["field"] == "cursor"


def test_the_next_link_of_a_page_is_a_cursor_the_api_accepts(client: httpx.Client) -> None:
    first = client.get("/v1/predictions", params={"limit": 1})
    assert first.status_code == 200
    if first.json()["next"] is not None:
        assert client.get(first.json()["next"]).status_code == 200


IDLESS = ["nope", "A" * 26, "a" * 25, "a" * 27, "a" * 25 + "1", "\u00e4" * 26]


@pytest.mark.parametrize("suffix", [":events", ":webhooks", ""])
@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("GET", "/v1/predictions/{}"),
        ("GET", "/v1/predictions/{}/stream"),
        ("GET", "/v1/predictions/{}/webhooks"),
        ("POST", "/v1/predictions/{}/cancel"),
    ],
)
def test_a_path_id_outside_the_job_id_alphabet_is_404(
    client: httpx.Client, store: redis.Redis, method: str, template: str, suffix: str
) -> None:
    """`<id>:events` names the job's event stream in Redis: it must not be read as a job."""
    real = client.post("/v1/predictions", json={"model": "sdq/tiny", "input": {"prompt": "x"}})
    assert real.status_code == 201
    prediction_id = real.json()["id"]
    client.post(f"/v1/predictions/{prediction_id}/cancel")
    store.hset(f"sdq:job:{prediction_id}:webhooks", "x", "{}")  # as if a webhook was sent
    for bad in [prediction_id + suffix, *(i + suffix for i in IDLESS)]:
        if bad == prediction_id:
            continue
        response = client.request(method, template.format(bad))
        assert response.status_code == 404, (bad, response.text)
        assert response.headers["content-type"] == "application/json"
        assert "not found" in response.json()["detail"]


def test_a_file_path_whose_job_id_is_not_a_job_id_is_404(client: httpx.Client, api: Stack) -> None:
    for key in ("aaaaaaaa/0.png", "a" * 26 + ":x/0.png"):
        response = client.get(signed_file_path(api.redis_url, key))
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        unsigned = client.get(f"/v1/files/{key}")  # no signature: refused before anything else
        assert unsigned.status_code == 403
        assert unsigned.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("event_id", "status"),
    [
        ("\u00b2-1", 422),
        ("1-\u00b2", 422),
        ("18446744073709551616-0", 422),  # 2**64: past what a Redis stream id holds
        ("99999999999999999999-0", 422),
        ("-1-1", 422),
        ("banana", 422),
        ("18446744073709551615-18446744073709551615", 404),  # the largest: then the job's 404
        ("0-0", 404),
    ],
)
def test_a_last_event_id_redis_would_refuse_is_422(
    client: httpx.Client, event_id: str, status: int
) -> None:
    prediction_id = new_job_id()  # the header is checked before the job is looked up
    header = {b"Last-Event-ID": event_id.encode("latin-1")}
    response = client.get(f"/v1/predictions/{prediction_id}/stream", headers=header)
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["invalid_fields"][0]["field"] == "Last-Event-ID"


HEAD_LIMIT = 64 * 1024  # SDQ_MAX_HEADER_BYTES
NATIVE, A1111, OPENAI = "/v1/predictions", "/sdapi/v1/progress", "/v1/images/generations"


def head(path: str, *headers: bytes, end: bool = True) -> bytes:
    lines = [b"GET " + path.encode() + b" HTTP/1.1", b"Host: 127.0.0.1", *headers]
    return b"\r\n".join(lines) + (b"\r\n\r\n" if end else b"")


def cut(data: bytes, size: int) -> bytes:
    """`data` padded with `x` or cut to `size` bytes: a head that never ends."""
    return data.ljust(size, b"x")[:size]


PAD = b"X-Pad: " + b"p" * HEAD_LIMIT
MANY = [b"X-A: b"] * (HEAD_LIMIT // 8)
POST = b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
# (sent as is on a fresh connection, status, field, what the answer says): each bound is refused
# in the dialect's shape of the path, naming the field and the limit.
OVERSIZED = [
    (head(NATIVE + "?x=" + "a" * HEAD_LIMIT), 414, "url", f"limit of {HEAD_LIMIT} bytes"),
    (head(OPENAI + "?x=" + "a" * HEAD_LIMIT), 414, "url", "SDQ_MAX_HEADER_BYTES"),
    (cut(b"GET /sdapi/v1/progress?x=", HEAD_LIMIT + 5), 414, "url", f"of {HEAD_LIMIT} bytes"),
    (head(A1111, PAD), 431, "headers", f"limit of {HEAD_LIMIT} bytes (SDQ_MAX_HEADER_BYTES)"),
    (head(NATIVE, *MANY), 431, "headers", f"limit of {HEAD_LIMIT} bytes"),
    (cut(head(OPENAI, PAD, end=False), HEAD_LIMIT + 1), 431, "headers", "SDQ_MAX_HEADER_BYTES"),
    (POST % b"/sdapi/v1/img2img" + b"Content-Length: 20971521\r\n\r\n", 413, "body", "20971520"),
    (POST % OPENAI.encode() + b"Content-Length: 1048577\r\n\r\n", 413, "body", "1048576 bytes"),
]


def said(path: bytes, body: dict[str, Any]) -> tuple[str, str]:
    """The field and the text of an error in any of the three shapes."""
    if path.startswith(b"/v1/images"):
        return body["error"]["param"], body["error"]["message"]
    fields = body["errors"] if path.startswith(b"/sdapi") else body["invalid_fields"]
    return fields[0]["field"], f"{body['detail']} {fields[0]['description']}"


def exchange(api: Stack, request: bytes) -> tuple[int, bytes]:
    """The status and body of the answer to `request`, sent on a fresh connection."""
    with socket.create_connection(("127.0.0.1", api.port), timeout=30) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    ("request_bytes", "status", "field", "text"),
    OVERSIZED,
    ids=[f"{status}-{field}-{i}" for i, (_, status, field, _) in enumerate(OVERSIZED)],
)
def test_an_oversized_request_is_refused_in_its_dialect_naming_the_limit(
    api: Stack, request_bytes: bytes, status: int, field: str, text: str
) -> None:
    answered, body = exchange(api, request_bytes)
    assert answered == status, body
    named, saying = said(request_bytes.split(b" ", 2)[1], json.loads(body))
    assert named == field, body
    assert text in saying, body


def test_a_head_within_the_limit_is_served(api: Stack) -> None:
    pad = b"X-Pad: " + b"p" * (HEAD_LIMIT - 200)
    answered, body = exchange(api, head("/healthz", pad, b"Connection: close"))
    assert answered == 200, body


def one_answer(connection: socket.socket) -> bytes:
    """One whole answer (it has a Content-Length) read from a kept-alive connection."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += connection.recv(65536)
    head_part, _, body = answer.partition(b"\r\n\r\n")
    length = int(head_part.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += connection.recv(65536)
    return head_part + b"\r\n\r\n" + body


@pytest.mark.parametrize("pipelined", [False, True])
def test_the_head_limit_holds_per_request_on_a_kept_alive_connection(
    api: Stack, pipelined: bool
) -> None:
    """Three heads of 40 KiB on one connection: each within the limit, together past it."""
    request = head("/healthz", b"X-Pad: " + b"p" * (40 * 1024))
    last = head("/healthz", b"X-Pad: " + b"p" * (40 * 1024), b"Connection: close")
    with socket.create_connection(("127.0.0.1", api.port), timeout=30) as connection:
        if pipelined:
            connection.sendall(request + request + last)
        else:
            for sent in (request, request):
                connection.sendall(sent)
                assert one_answer(connection).startswith(b"HTTP/1.1 200 ")
            connection.sendall(last)
        answers = b""
        while chunk := connection.recv(65536):
            answers += chunk
    assert answers.count(b"HTTP/1.1 200 ") == (3 if pipelined else 1), answers


def test_every_response_carries_a_request_id_a_sane_one_is_kept(client: httpx.Client) -> None:
    generated = {client.get("/healthz").headers["x-request-id"] for _ in range(2)}
    assert len(generated) == 2
    assert client.get("/v1/nothing-here").headers["x-request-id"]
    kept = client.get("/healthz", headers={"X-Request-Id": "req-42.abc_DEF:1"})
    assert kept.headers["x-request-id"] == "req-42.abc_DEF:1"
    for insane in ("x" * 200, "a b", "<x>", ""):
        replaced = client.get("/healthz", headers={b"X-Request-Id": insane.encode()})
        assert replaced.headers["x-request-id"] not in (insane, "")


def test_an_unexpected_error_is_a_json_500_with_the_request_id_logged_once(
    api: Stack, client: httpx.Client, store: redis.Redis
) -> None:
    """A key of the wrong type (Redis answers WRONGTYPE) stands for any error nobody foresaw."""
    broken = new_job_id()
    store.set(f"sdq:job:{broken}", "not a hash")
    try:
        response = client.get(f"/v1/predictions/{broken}", headers={"X-Request-Id": "trace-500"})
    finally:
        store.delete(f"sdq:job:{broken}")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == "trace-500"
    body = response.json()
    assert body["status"] == 500 and "trace-500" in body["detail"]
    assert "WRONGTYPE" not in response.text, "the client is not told the internals"

    def logged() -> bool:
        return "trace-500" in api_log(api)

    wait_until(logged, 10, "the error in the API log")
    log = api_log(api)
    assert log.count("Traceback") == 1, log[-4000:]
    assert "Exception in ASGI application" not in log


def test_an_error_while_streaming_is_logged_once_and_ends_the_stream(
    api: Stack, client: httpx.Client, store: redis.Redis
) -> None:
    created = client.post("/v1/predictions", json={"model": "sdq/tiny", "input": {"prompt": "x"}})
    prediction_id = created.json()["id"]
    client.post(f"/v1/predictions/{prediction_id}/cancel")
    store.delete(f"sdq:job:{prediction_id}:events")
    store.set(f"sdq:job:{prediction_id}:events", "not a stream")
    before = api_log(api).count("Traceback")
    with client.stream(
        "GET", f"/v1/predictions/{prediction_id}/stream", headers={"X-Request-Id": "trace-sse"}
    ) as response:
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "trace-sse"
        for _ in response.iter_lines():
            pass

    def logged() -> bool:
        return "trace-sse" in api_log(api)

    wait_until(logged, 10, "the streaming error in the API log")
    assert api_log(api).count("Traceback") == before + 1
    assert "Exception in ASGI application" not in api_log(api)
