"""Server-sent events of a prediction: order, progress, Last-Event-ID resume, replay, keep-alive."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse
from PIL import Image

from tests.file_links import unsigned
from tests.helpers import Stack, wait_terminal

MEDIUM = {"width": 64, "height": 64, "num_inference_steps": 30}


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    with stack.http() as http:
        yield http


def create(client: httpx.Client, **inputs: Any) -> dict[str, Any]:
    response = client.post(
        "/v1/predictions", json={"model": "sdq/tiny", "input": {"prompt": "s"} | inputs}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def read_events(
    client: httpx.Client, url: str, last_event_id: str | None = None, stop_after: int | None = None
) -> list[ServerSentEvent]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    events: list[ServerSentEvent] = []
    with connect_sse(client, "GET", url, headers=headers) as source:
        assert source.response.headers["content-type"].startswith("text/event-stream")
        for event in source.iter_sse():
            if not event.data:  # a keep-alive comment (httpx-sse yields it as an empty event)
                continue
            if event.event == "queued" and "queue_position" in json.loads(event.data):
                continue  # a queue position update (no id; tests/e2e/test_queue_order.py)
            events.append(event)
            if stop_after is not None and len(events) >= stop_after:
                break  # leaving the block closes the connection mid-job
    return events


def test_events_in_order_steps_increase_and_terminal_equals_polled(client: httpx.Client) -> None:
    created = create(client, **MEDIUM)
    events = read_events(client, created["urls"]["stream"])
    kinds = [e.event for e in events]
    assert kinds[:2] == ["queued", "started"]
    assert kinds[-2:] == ["output", "completed"]
    assert set(kinds[2:-2]) == {"progress"}
    assert all(e.id for e in events)
    steps = [json.loads(e.data) for e in events if e.event == "progress"]
    assert [s["step"] for s in steps] == list(range(1, 31))
    assert all(s["total"] == 30 and s["it_per_s"] > 0 for s in steps)
    assert steps[-1]["eta_s"] == 0
    started = json.loads(events[1].data)
    assert started["attempt"] == 1 and started["worker_id"]
    output = json.loads(events[-2].data)["output"]
    final = json.loads(events[-1].data)
    # the same prediction; its links are signed afresh by each answer (the expiry may move on)
    assert unsigned(final) == unsigned(client.get(f"/v1/predictions/{created['id']}").json())
    assert final["status"] == "succeeded" and final["output"] == output
    assert "30/30 steps" in final["logs"]


def test_reconnect_with_last_event_id_has_no_gap_and_no_duplicate(client: httpx.Client) -> None:
    created = create(client, **MEDIUM)
    url = created["urls"]["stream"]
    first = read_events(client, url, stop_after=5)
    rest = read_events(client, url, last_event_id=first[-1].id)
    replay = read_events(client, url)  # after completion: everything again, then the stream closes
    assert [e.id for e in first + rest] == [e.id for e in replay]
    assert rest[-1].event == "completed"


def test_keep_alive_comments_while_idle(client: httpx.Client) -> None:
    busy = create(client, width=256, height=256, num_inference_steps=150, guidance_scale=1)
    waiting = create(client, width=64, height=64, num_inference_steps=2)
    comments = 0
    with client.stream("GET", waiting["urls"]["stream"]) as response:
        for line in response.iter_lines():
            if line.startswith(":"):
                comments += 1
                if comments >= 2:
                    break
    assert comments >= 2
    for prediction in (busy, waiting):
        client.post(f"/v1/predictions/{prediction['id']}/cancel")
        wait_terminal(client, prediction["id"])


def test_stream_of_an_unknown_prediction_is_404_and_a_bad_event_id_is_422(
    client: httpx.Client,
) -> None:
    assert client.get("/v1/predictions/nope/stream").status_code == 404
    created = create(client, width=64, height=64, num_inference_steps=2)
    response = client.get(created["urls"]["stream"], headers={"Last-Event-ID": "banana"})
    assert response.status_code == 422
    assert response.json()["invalid_fields"][0]["field"] == "Last-Event-ID"
    wait_terminal(client, created["id"])


def test_sdq_submit_stream_shows_steps_and_saves_the_image(stack: Stack, tmp_path: Path) -> None:
    out = tmp_path / "dog.png"
    result = subprocess.run(
        [sys.executable, "-m", "cli", "submit", "a dog", "--stream", "--steps", "12",
         "--width", "64", "--height", "64", "--out", str(out), "--url", stack.url],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "120"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "12/12" in result.stderr
    assert "succeeded" in result.stderr
    assert Image.open(out).size == (64, 64)


def test_previews_every_k_steps_are_decodable_images(client: httpx.Client) -> None:
    created = create(client, width=64, height=96, num_inference_steps=10, preview_every=3)
    events = read_events(client, created["urls"]["stream"])
    previews = [json.loads(e.data) for e in events if e.event == "preview"]
    assert [p["step"] for p in previews] == [3, 6, 9]  # floor(10 / 3) of them
    for preview in previews:
        header, _, payload = preview["image"].partition(",")
        assert header == "data:image/jpeg;base64"
        assert Image.open(io.BytesIO(base64.b64decode(payload))).size == (8, 12)


def test_no_previews_unless_asked(client: httpx.Client) -> None:
    created = create(client, width=64, height=64, num_inference_steps=4)
    assert not [e for e in read_events(client, created["urls"]["stream"]) if e.event == "preview"]
