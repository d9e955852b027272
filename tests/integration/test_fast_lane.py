"""The create routes' fast lane (`api.fast_lane`) answers as FastAPI's own handler does, on the
real app and Redis: for each request of the table, the same status, headers and prediction from
an app with the lanes and one without; and the lane is taken for every valid body."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

import api.auth
import api.native.create
from api.app import create_app
from api.fast_lane import STATE_SWITCH
from sdq.settings import Settings

ADMIN_KEY = "fast-lane-test-admin-key-0123456789abcdef"
INPUT = {"prompt": "a red fox", "width": 64, "height": 64, "seed": 7}
ONE = "/v1/predictions"
BY_PATH = "/v1/models/sdq/synthetic/predictions"
ID = re.compile(r"[0-9a-z]{20,}")
# Differ from call to call, not from lane to lane.
VOLATILE = {"id", "created_at", "eta", "queue_position", "urls"}
KEPT_HEADERS = {"content-type", "idempotent-replayed", "retry-after", "location"}


@dataclass
class Lanes:
    fast: TestClient
    plain: TestClient
    headers: dict[str, str]  # alice's key
    taken: list[int]  # one entry per request the fast lane took


@pytest.fixture
def lanes(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lanes]:
    """Two apps on one Redis, with and without the fast lanes, and a client key of `alice` whose
    most urgent priority is 1."""
    settings = Settings(
        redis_url=redis_url,
        data_dir=tmp_path,
        models="sdq/synthetic",
        admin_key=SecretStr(ADMIN_KEY),
        webhook_allow_private=True,
        max_prompt_chars=100,
    )
    adapters = tmp_path / "loras" / "sdq" / "synthetic"  # the API lists them; none runs here
    adapters.mkdir(parents=True)
    (adapters / "red.safetensors").write_bytes(b"")
    taken: list[int] = []

    async def noted(*args: Any) -> Any:
        taken.append(1)
        return await api.auth.authenticate(*args)  # the lane's first step past the body

    monkeypatch.setattr(api.native.create, "authenticate", noted)
    fast_app = create_app(settings, redis_url)
    plain_app = create_app(settings, redis_url)
    setattr(plain_app.state, STATE_SWITCH, False)
    base = "http://127.0.0.1"
    with TestClient(fast_app, base_url=base) as fast, TestClient(plain_app, base_url=base) as plain:
        made = fast.post(
            "/v1/admin/keys",
            json={"name": "alice", "role": "client", "max_priority": 1},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert made.status_code == 201, made.text
        yield Lanes(fast, plain, {"Authorization": f"Bearer {made.json()['key']}"}, taken)


def comparable(response: Any) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in response.headers.items() if k in KEPT_HEADERS}
    body = response.json()
    if isinstance(body, dict) and "id" in body and "status" in body:
        body = {k: ("<varies>" if k in VOLATILE else v) for k, v in body.items()}
    text = ID.sub("<id>", repr(body))
    return response.status_code, headers, text


WITH_WEBHOOK = {
    "input": INPUT,
    "webhook": "http://127.0.0.1:9/h",
    "webhook_events_filter": ["output"],
}
# (path, body or raw text, extra headers, taken by the fast lane)
CASES: list[tuple[str, Any, dict[str, str], bool]] = [
    (ONE, {"model": "sdq/synthetic", "input": INPUT}, {}, True),
    (ONE, {"version": "sdq/synthetic", "input": INPUT}, {}, True),
    (BY_PATH, {"input": INPUT, "priority": 2}, {"Cancel-After": "5m"}, True),
    (BY_PATH, WITH_WEBHOOK, {}, True),
    (BY_PATH, {"input": INPUT}, {"Prefer": "wait=1"}, True),
    (BY_PATH, {"input": INPUT}, {"Content-Type": "application/json; charset=utf-8"}, True),
    # Refused by the work after the body validated: still the lane's, and the same answer.
    (ONE, {"model": "no/such", "input": INPUT}, {}, True),
    ("/v1/models/no/such/predictions", {"input": INPUT}, {}, True),
    (BY_PATH, {"input": INPUT, "priority": 0}, {}, True),
    (BY_PATH, {"input": {"prompt": "x" * 101}}, {}, True),
    (BY_PATH, {"input": INPUT}, {"Idempotency-Key": "has space"}, True),
    (BY_PATH, {"input": INPUT}, {"Cancel-After": "soon"}, True),
    (BY_PATH, {"input": INPUT}, {"Prefer": "wait=nope"}, True),
    (BY_PATH, {"input": INPUT, "webhook_events_filter": ["completed"]}, {}, True),
    (BY_PATH, {"input": INPUT | {"loras": [{"name": "red", "scale": 0.5}]}}, {}, True),
    (BY_PATH, {"input": INPUT | {"loras": [{"name": "blue"}]}}, {}, True),
    # Left to FastAPI's lane: what FastAPI itself refuses.
    (BY_PATH, "{not json", {}, False),
    (BY_PATH, '{"input": {}, "input": {}}', {}, False),
    (BY_PATH, {"input": INPUT, "extra": 1}, {}, False),
    (BY_PATH, {"input": "a string"}, {}, False),
    (BY_PATH, {"input": INPUT, "priority": 7}, {}, False),
    (BY_PATH, [1, 2], {}, False),
    (BY_PATH, {"input": INPUT}, {"Content-Type": "text/plain"}, False),
    (BY_PATH, "", {}, False),
]


@pytest.mark.parametrize(("path", "body", "headers", "fast"), CASES)
def test_the_fast_lane_answers_as_fastapi_does(
    lanes: Lanes, path: str, body: Any, headers: dict[str, str], fast: bool
) -> None:
    answers = []
    for client in (lanes.plain, lanes.fast):
        sent = {**lanes.headers, "Content-Type": "application/json", **headers}
        if isinstance(body, str):
            response = client.post(path, content=body.encode(), headers=sent)
        else:
            response = client.post(path, json=body, headers=sent)
        answers.append(comparable(response))
    assert answers[0] == answers[1]
    assert lanes.taken == ([1] if fast else [])


def test_a_repeat_with_the_idempotency_key_is_replayed_alike(lanes: Lanes) -> None:
    body = {"input": INPUT}
    for client, key in ((lanes.plain, "key-plain"), (lanes.fast, "key-fast")):
        headers = {**lanes.headers, "Idempotency-Key": key}
        first = client.post(BY_PATH, json=body, headers=headers)
        again = client.post(BY_PATH, json=body, headers=headers)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]
        changed = client.post(BY_PATH, json={"input": {**INPUT, "width": 128}}, headers=headers)
        assert changed.status_code == 422, changed.text
    assert len(lanes.taken) == 3
