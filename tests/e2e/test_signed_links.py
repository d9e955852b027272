"""Signed output links over a real API: a link the API hands out downloads without any header,
privately cached until it expires; a missing, tampered, malformed or expired one is a 403 that
says nothing about whether the file exists; a configured SDQ_LINK_SECRET signs instead of the
shared random one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from sdq.job import new_job_id
from sdq.signed_links import LinkCheck, check_link
from tests.file_links import signed_file_path
from tests.helpers import Stack, started_api

SMALL = {"prompt": "link", "width": 64, "height": 64, "num_inference_steps": 2}
CONFIGURED_SECRET = "a configured link secret, the same on every replica"
TTL_S = 3600  # the default SDQ_LINK_TTL_S


@pytest.fixture(scope="module")
def done(stack: Stack) -> dict[str, Any]:
    """A finished prediction of the module's stack."""
    with stack.http() as client:
        body = {"model": "sdq/tiny", "input": SMALL}
        answer = client.post("/v1/predictions", json=body, headers={"Prefer": "wait"})
    prediction: dict[str, Any] = answer.json()
    assert prediction["status"] == "succeeded", prediction
    return prediction


@pytest.fixture(scope="module")
def configured_api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A second API on the same Redis and outputs, with SDQ_LINK_SECRET set."""
    logs = tmp_path_factory.mktemp("configured-logs")
    with started_api(
        stack.redis_url, stack.data_dir, logs, SDQ_LINK_SECRET=CONFIGURED_SECRET
    ) as running:
        yield running


def parts(link: str) -> tuple[str, dict[str, str]]:
    """The link's path and its query values."""
    split = urlsplit(link)
    return split.path, {name: values[0] for name, values in parse_qs(split.query).items()}


def with_query(path: str, **query: str) -> str:
    return f"{path}?{urlencode(query)}"


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/json"
    problem = response.json()
    assert problem["status"] == 403 and problem["title"] == "Forbidden" and problem["detail"]


def test_a_handed_out_link_downloads_without_any_header_and_is_cached_privately(
    stack: Stack, done: dict[str, Any]
) -> None:
    [link] = done["output"]
    _, query = parts(link)
    assert link.startswith(f"{stack.url}/v1/files/{done['id']}/") and set(query) == {"exp", "sig"}
    assert time.time() + TTL_S - 60 < int(query["exp"]) <= time.time() + TTL_S + 60
    response = httpx.get(link)  # a bare client: no Authorization, no cookies
    assert response.status_code == 200
    assert response.content.startswith(b"\x89PNG")
    cache = response.headers["cache-control"]
    assert cache.startswith("private, max-age=")
    assert 0 < int(cache.removeprefix("private, max-age=")) <= int(query["exp"]) - time.time() + 1
    assert "public" not in cache and "immutable" not in cache


def test_polling_again_hands_out_a_link_that_works_too(stack: Stack, done: dict[str, Any]) -> None:
    with stack.http() as client:
        [again] = client.get(f"/v1/predictions/{done['id']}").json()["output"]
        [listed] = next(
            p["output"] for p in client.get("/v1/predictions").json()["results"]
            if p["id"] == done["id"]
        )  # fmt: skip
    assert httpx.get(again).status_code == 200
    assert httpx.get(listed).status_code == 200


def tampered(link: str) -> dict[str, str]:
    path, query = parts(link)
    other_sig = query["sig"][:-1] + ("A" if query["sig"][-1] != "A" else "B")
    other_file = path.replace("out-1-0.png", "out-1-1.png")
    return {
        "signature changed": with_query(path, exp=query["exp"], sig=other_sig),
        "expiry pushed later": with_query(
            path, exp=str(int(query["exp"]) + 86400), sig=query["sig"]
        ),
        "another file of the job": with_query(other_file, **query),
        "another job": with_query(path.replace(path.split("/")[3], new_job_id()), **query),
        "no signature": path,
        "no expiry": with_query(path, sig=query["sig"]),
        "no sig": with_query(path, exp=query["exp"]),
        "exp not a number": with_query(path, exp="soon", sig=query["sig"]),
        "exp negative": with_query(path, exp="-1", sig=query["sig"]),
        "exp huge": with_query(path, exp="9" * 5000, sig=query["sig"]),
        "sig not base64url": with_query(path, exp=query["exp"], sig="%" * 43),
        "sig too long": with_query(path, exp=query["exp"], sig=query["sig"] * 100),
        "sig in hex": with_query(path, exp=query["exp"], sig=query["sig"].encode().hex()),
    }


def test_a_missing_tampered_or_malformed_signature_is_403(
    stack: Stack, done: dict[str, Any]
) -> None:
    with stack.http() as client:
        for what, path in tampered(done["output"][0]).items():
            response = client.get(path)
            assert response.status_code == 403, (what, response.text)
            assert_refused(response)


def test_an_expired_link_is_403(stack: Stack, done: dict[str, Any]) -> None:
    key = f"{done['id']}/out-1-0.png"
    long_ago = time.time() - 2 * TTL_S
    with stack.http() as client:
        assert client.get(signed_file_path(stack.redis_url, key)).status_code == 200  # the control
        expired = client.get(signed_file_path(stack.redis_url, key, now=long_ago))
    assert_refused(expired)
    assert "expired" in expired.json()["detail"]


def test_the_answer_says_nothing_about_whether_a_file_exists(stack: Stack) -> None:
    gone = f"{new_job_id()}/out-1-0.png"
    with stack.http() as client:
        assert_refused(client.get(f"/v1/files/{gone}"))
        assert_refused(client.get(f"/v1/files/{gone}?exp=1&sig=" + "A" * 43))
        missing = client.get(signed_file_path(stack.redis_url, gone))  # only a genuine link...
    assert missing.status_code == 404  # ...learns that the file is gone
    assert missing.headers["content-type"] == "application/json"


def test_a_configured_link_secret_signs_instead_of_the_shared_one(
    configured_api: Stack, done: dict[str, Any]
) -> None:
    key = f"{done['id']}/out-1-0.png"
    with configured_api.http() as client:
        [link] = client.get(f"/v1/predictions/{done['id']}").json()["output"]
        _, query = parts(link)
        verdict = check_link(
            CONFIGURED_SECRET.encode(), key, query["exp"], query["sig"], time.time()
        )
        assert verdict is LinkCheck.VALID
        assert httpx.get(link).status_code == 200
        assert_refused(client.get(signed_file_path(configured_api.redis_url, key)))
