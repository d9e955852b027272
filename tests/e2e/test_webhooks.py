"""Webhooks end to end: a real receiver on loopback, the real webhook service, signed deliveries."""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from cli.embedded_redis import free_port
from tests.file_links import unsigned
from tests.helpers import WEBHOOK_SECRET, Stack, process_env, start, stop, wait_terminal, wait_until
from tests.receiver import Receiver

SMALL = {"prompt": "hook", "width": 64, "height": 64, "num_inference_steps": 4}


@pytest.fixture(scope="module")
def hooks(stack: Stack) -> Stack:
    stack.start_webhooks()
    return stack


@pytest.fixture
def client(hooks: Stack) -> Iterator[httpx.Client]:
    with hooks.http() as http:
        yield http


def create(
    client: httpx.Client, webhook: str, events: list[str] | None = None, **inputs: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "sdq/tiny", "input": SMALL | inputs, "webhook": webhook}
    if events is not None:
        body["webhook_events_filter"] = events
    response = client.post("/v1/predictions", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def deliveries(client: httpx.Client, prediction_id: str) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = client.get(f"/v1/predictions/{prediction_id}/webhooks").json()[
        "results"
    ]
    return results


def settled(
    client: httpx.Client, prediction_id: str, count: int = 1, timeout: float = 60
) -> list[dict[str, Any]]:
    def done() -> list[dict[str, Any]] | None:
        found = deliveries(client, prediction_id)
        return (
            found if len(found) >= count and all(d["state"] != "pending" for d in found) else None
        )

    result: list[dict[str, Any]] = wait_until(
        done, timeout, f"webhooks of {prediction_id} to settle", 0.1
    )
    return result


def test_start_and_completed_arrive_signed_with_the_prediction(
    client: httpx.Client, receiver: Receiver
) -> None:
    url = receiver.script("/ok", 200)
    created = create(client, url)
    final = wait_terminal(client, created["id"])
    wanted = {f"msg_{created['id']}_start", f"msg_{created['id']}_completed"}
    wait_until(  # both; the sender's threads may deliver them in either order
        lambda: wanted <= {r.headers["webhook-id"] for r in receiver.at("/ok")},
        30,
        "start and completed",
    )
    verifier = Webhook(WEBHOOK_SECRET)
    by_id = {r.headers["webhook-id"]: r for r in receiver.at("/ok")}
    for request in by_id.values():
        verifier.verify(request.body, request.headers)  # raises on a bad signature
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    start_call = by_id[f"msg_{created['id']}_start"]
    assert json.loads(start_call.body)["status"] == "processing"
    completed = json.loads(by_id[f"msg_{created['id']}_completed"].body)
    assert unsigned(completed) == unsigned(final)  # links handed out at different times
    assert httpx.get(completed["output"][0]).status_code == 200  # no key: the link is enough
    tampered = dict(by_id[f"msg_{created['id']}_completed"].headers)
    with pytest.raises(Exception, match=r"(?i)signature"):
        verifier.verify(b'{"status": "failed"}', tampered)


def test_500_twice_then_200_same_id_three_times_attempts_recorded(
    client: httpx.Client, receiver: Receiver
) -> None:
    url = receiver.script("/flaky", 500, 500, 200)
    created = create(client, url, ["completed"])
    [delivery] = settled(client, created["id"])
    calls = receiver.at("/flaky")
    assert len(calls) == 3
    assert {c.headers["webhook-id"] for c in calls} == {f"msg_{created['id']}_completed"}
    assert [c.body for c in calls] == [calls[0].body] * 3
    assert delivery["state"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]
    assert all(a["duration_ms"] >= 0 and a["at"] > 0 for a in delivery["attempts"])
    assert client.get(f"/v1/predictions/{created['id']}").json()["status"] == "succeeded"


def test_receiver_down_for_a_while_still_gets_the_terminal_event(client: httpx.Client) -> None:
    port = free_port()
    created = create(client, f"http://127.0.0.1:{port}/late", ["completed"])
    wait_terminal(client, created["id"])
    wait_until(
        lambda: len(deliveries(client, created["id"])[0]["attempts"]) >= 2, 30, "failed attempts"
    )
    late = Receiver(port=port).start()
    try:
        [delivery] = settled(client, created["id"])
        assert delivery["state"] == "delivered"
        assert delivery["attempts"][0]["error"] and delivery["attempts"][0]["status_code"] is None
        assert delivery["attempts"][-1]["status_code"] == 200
        assert len(late.at("/late")) == 1
    finally:
        late.stop()


def test_410_stops_retries(client: httpx.Client, receiver: Receiver) -> None:
    url = receiver.script("/gone", 410)
    created = create(client, url, ["completed"])
    [delivery] = settled(client, created["id"])
    time.sleep(1.0)  # three retry intervals: nothing more may come
    assert len(receiver.at("/gone")) == 1
    assert delivery["state"] == "gave_up" and "asked to stop" in delivery["reason"]
    assert client.get(f"/v1/predictions/{created['id']}").json()["status"] == "succeeded"


def test_429_retry_after_is_honoured(client: httpx.Client, receiver: Receiver) -> None:
    url = receiver.script("/busy", (429, {"Retry-After": "2"}), 200)
    created = create(client, url, ["completed"])
    [delivery] = settled(client, created["id"])
    first, second = receiver.at("/busy")
    assert second.at - first.at >= 1.8, "waited Retry-After, not the 0.3 s schedule"
    assert [a["status_code"] for a in delivery["attempts"]] == [429, 200]


def test_429_with_an_unreadable_retry_after_is_recorded_and_retried_on_the_schedule(
    client: httpx.Client, receiver: Receiver
) -> None:
    url = receiver.script("/superscript", (429, {"Retry-After": "\u00b2"}), 200)
    created = create(client, url, ["completed"])
    # An attempt that was not recorded would be handed out again only when its lease (60 s)
    # runs out; a recorded one is retried on the schedule (0.3 s here), long before that.
    [delivery] = settled(client, created["id"], timeout=30)
    assert delivery["state"] == "delivered"
    first, second = delivery["attempts"]
    assert (first["status_code"], first["error"]) == (429, None)
    assert second["status_code"] == 200
    assert len(receiver.at("/superscript")) == 2


@pytest.mark.parametrize(
    ("events", "expected"), [(["completed"], {"completed"}), (["start"], {"start"})]
)
def test_event_filter_is_honoured(
    client: httpx.Client, receiver: Receiver, events: list[str], expected: set[str]
) -> None:
    url = receiver.script("/filtered", 200)
    created = create(client, url, events, num_inference_steps=20)
    settled(client, created["id"])
    time.sleep(0.5)
    sent = {
        r.headers["webhook-id"].removeprefix(f"msg_{created['id']}_")
        for r in receiver.at("/filtered")
    }
    assert sent == expected


def test_intermediate_events_are_throttled_and_best_effort(
    client: httpx.Client, receiver: Receiver
) -> None:
    url = receiver.script("/logs", 200)
    created = create(
        client,
        url,
        ["logs", "output"],
        width=256,
        height=256,
        num_inference_steps=60,
        guidance_scale=1,
    )
    wait_terminal(client, created["id"])
    found = settled(client, created["id"], count=2)
    logs = [d for d in found if d["event"] == "logs"]
    assert logs and all(d["best_effort"] for d in found)
    times = [d["created_at"] for d in logs]
    assert all(b - a >= 0.5 for a, b in itertools.pairwise(times))
    assert [d["event"] for d in found].count("output") == 1


SSRF_MATRIX = [
    "http://127.0.0.1:{port}/",
    "http://localhost:{port}/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://[::1]:{port}/",
    "http://[fd00::1]/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:{port}/",
]


def test_ssrf_targets_are_refused_at_submit_and_nothing_is_sent(
    hooks: Stack, receiver: Receiver, tmp_path: Path
) -> None:
    port = free_port()
    env = process_env(hooks.redis_url, hooks.data_dir, port, SDQ_WEBHOOK_ALLOW_PRIVATE="false")
    api = start(["api"], env, tmp_path / "strict-api.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as strict:
            wait_until(lambda: _up(strict), 30, "the strict API")
            for template in SSRF_MATRIX:
                url = template.format(port=receiver.port)
                response = strict.post(
                    "/v1/predictions", json={"model": "sdq/tiny", "input": SMALL, "webhook": url}
                )
                assert response.status_code == 422, (url, response.text)
                [field] = response.json()["invalid_fields"]
                assert field["field"] == "webhook", url
    finally:
        stop(api)
    time.sleep(0.5)
    assert receiver.requests == []


def _up(client: httpx.Client) -> bool:
    try:
        return client.get("/readyz").status_code == 200
    except httpx.TransportError:
        return False


def test_secret_is_generated_once_and_printed(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SDQ_WEBHOOK_SECRET"} | {
        "SDQ_DATA_DIR": str(tmp_path)
    }
    import subprocess
    import sys

    def run() -> str:
        out = subprocess.run(
            [sys.executable, "-m", "cli", "webhook-secret"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    first, second = run(), run()
    assert first == second and first.startswith("whsec_")
    Webhook(first)  # a valid Standard Webhooks secret
    assert oct((tmp_path / "webhook_secret").stat().st_mode & 0o777) == "0o600"


def test_canceling_a_queued_prediction_sends_its_completed_webhook(
    client: httpx.Client, receiver: Receiver
) -> None:
    busy = client.post(
        "/v1/predictions",
        json={
            "model": "sdq/tiny",
            "input": SMALL | {"width": 256, "height": 256, "num_inference_steps": 150},
        },
    ).json()
    url = receiver.script("/canceled", 200)
    queued = create(client, url, ["start", "completed"])
    assert client.post(f"/v1/predictions/{queued['id']}/cancel").json()["status"] == "canceled"
    [delivery] = settled(client, queued["id"])
    assert delivery["event"] == "completed" and delivery["state"] == "delivered"
    [call] = receiver.at("/canceled")
    assert json.loads(call.body)["status"] == "canceled"
    client.post(f"/v1/predictions/{busy['id']}/cancel")
    wait_terminal(client, busy["id"])
