"""Odd input is a 4xx naming the field, and any error the API did not expect is a JSON 500 with a
request id, logged once: a real API process on real Redis, over loopback HTTP (no worker needed)."""

from __future__ import annotations

from collections.abc import Iterator

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
