"""The order a free worker takes queued jobs in, and what a waiting client is told about it, over
HTTP on a keyed stack with one synthetic worker: priority first (0 most urgent … 2, each key up to
its `max_priority`), then the tenant served least recently, FIFO within a tenant; a queued
prediction's `queue_position` and `eta`, the stream's `queued` updates and A1111's progress.

Each test keeps the one worker busy with a long job (a "blocker") while it builds a queue, and
frees it by canceling that job: the order is never left to how fast the machine is."""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest

from cli.embedded_redis import EmbeddedRedis
from tests.access_fixtures import (
    KEYED_ENV,
    SYNTHETIC,
    KeyedStack,
    wait_for_synthetic_worker,
)
from tests.helpers import started_api, wait_status, wait_terminal, wait_until

TINY = "sdq/tiny"  # listed, served by no worker here
# Slower steps than the other keyed stacks: the longest job (150 steps) holds the worker for
# 15 s, ample time to build a queue behind it on a loaded machine; it is canceled, never awaited.
STEP_S = "0.1"
LONG = {"prompt": "hold", "width": 64, "height": 64, "num_inference_steps": 150}
QUICK = {"prompt": "x", "width": 64, "height": 64, "num_inference_steps": 1}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedStack]:
    """API (keys required) and one synthetic worker on a Redis of their own: the queue order
    depends on every claim of the model, which other modules' jobs would add to."""
    with EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=False) as server:
        data_dir, logs = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("logs")
        env = KEYED_ENV | {"SDQ_SYNTHETIC_STEP_SECONDS": STEP_S}
        with started_api(server.url, data_dir, logs, **env) as stack:
            stack.start_worker(SYNTHETIC)
            with stack.http() as ops:  # the bootstrap admin key
                wait_for_synthetic_worker(ops)
            yield KeyedStack(stack, {}, {})


@pytest.fixture(autouse=True)
def quiet_queue(keyed: KeyedStack) -> Iterator[None]:
    """Every job left queued or running by the test is canceled, and has ended, before the next."""
    yield
    with keyed.as_("bootstrap") as ops:
        left = [
            job["id"]
            for status in ("queued", "running")
            for job in ops.get("/v1/predictions", params={"status": status}).json()["results"]
        ]
        for job_id in left:
            ops.post(f"/v1/predictions/{job_id}/cancel")
        for job_id in left:
            wait_terminal(ops, job_id, timeout=60)


def new_key(keyed: KeyedStack, prefix: str, role: str = "client", **fields: Any) -> str:
    """A new key's secret; its name (the tenant) is `prefix` and a random suffix."""
    name = f"{prefix}-{secrets.token_hex(3)}"
    with keyed.as_("bootstrap") as ops:
        made = ops.post("/v1/admin/keys", json={"name": name, "role": role} | fields)
    assert made.status_code == 201, made.text
    secret: str = made.json()["key"]
    return secret


def submit(
    client: httpx.Client, inputs: dict[str, Any], model: str = SYNTHETIC, **body: Any
) -> dict[str, Any]:
    created = client.post("/v1/predictions", json={"model": model, "input": inputs} | body)
    assert created.status_code == 201, created.text
    prediction: dict[str, Any] = created.json()
    return prediction


def read(client: httpx.Client, prediction_id: str) -> dict[str, Any]:
    got = client.get(f"/v1/predictions/{prediction_id}")
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def cancel(client: httpx.Client, prediction_id: str) -> None:
    assert client.post(f"/v1/predictions/{prediction_id}/cancel").status_code == 200


def started_order(client: httpx.Client, ids: list[str]) -> list[str]:
    """The jobs (all to succeed) by when they started."""
    done = [wait_terminal(client, job_id, timeout=90) for job_id in ids]
    assert all(p["status"] == "succeeded" for p in done), [(p["id"], p["status"]) for p in done]
    return [p["id"] for p in sorted(done, key=lambda p: datetime.fromisoformat(p["started_at"]))]


@dataclass
class Blocker:
    """A long job of the bootstrap tenant running on the one worker."""

    client: httpx.Client
    id: str

    def still_running(self) -> None:
        """The test's queue was built while the worker was busy (else: the machine is too slow
        for this test's set-up, not a wrong order)."""
        status = read(self.client, self.id)["status"]
        assert status == "processing", f"the blocker is {status}: the queue was built too late"

    def release(self) -> None:
        """Stop the long job (at its next step): the worker takes the queue's best job."""
        cancel(self.client, self.id)


@contextlib.contextmanager
def busy_worker(keyed: KeyedStack) -> Iterator[Blocker]:
    with keyed.as_("bootstrap") as ops:
        blocker = submit(ops, LONG)
        wait_status(ops, blocker["id"], "processing", timeout=60)
        yield Blocker(ops, blocker["id"])
        cancel(ops, blocker["id"])  # a no-op once released
        wait_terminal(ops, blocker["id"], timeout=60)


def test_a_tenant_with_one_job_goes_before_a_tenant_with_many(keyed: KeyedStack) -> None:
    many, one = new_key(keyed, "many"), new_key(keyed, "one")
    with busy_worker(keyed) as blocker, keyed.http(many) as a, keyed.http(one) as b:
        a_ids = [submit(a, QUICK)["id"] for _ in range(10)]
        b_id = submit(b, QUICK)["id"]
        b_queued = read(b, b_id)
        a_last = read(a, a_ids[-1])
        blocker.still_running()
        blocker.release()
        order = started_order(blocker.client, [*a_ids, b_id])  # an admin sees both tenants'
    assert b_queued["status"] == "starting", b_queued
    assert b_queued["queue_position"] is not None and b_queued["queue_position"] <= 1, b_queued
    assert a_last["queue_position"] >= 9, "A's tenth job waits behind A's other nine"
    assert order.index(b_id) <= 1, f"B's one job started {order.index(b_id) + 1}th of 11"
    assert [job for job in order if job != b_id] == a_ids, "FIFO within a tenant"


def test_a_more_urgent_job_overtakes_queued_less_urgent_ones(keyed: KeyedStack) -> None:
    urgent = new_key(keyed, "urgent", max_priority=0)
    with busy_worker(keyed) as blocker, keyed.http(urgent) as client:
        relaxed = [submit(client, QUICK, priority=2) for _ in range(3)]
        pressing = submit(client, QUICK, priority=0)
        positions = [read(client, p["id"])["queue_position"] for p in [pressing, *relaxed]]
        blocker.still_running()
        blocker.release()
        order = started_order(client, [p["id"] for p in [*relaxed, pressing]])
    assert [p["priority"] for p in [*relaxed, pressing]] == [2, 2, 2, 0]
    assert positions == [0, 1, 2, 3], "the urgent job is next; the others each one further back"
    assert order == [pressing["id"], *(p["id"] for p in relaxed)]


def test_a_key_may_only_ask_for_priorities_up_to_its_max_priority(keyed: KeyedStack) -> None:
    plain, urgent = new_key(keyed, "plain"), new_key(keyed, "allowed", max_priority=0)
    body = {"model": TINY, "input": QUICK}
    with keyed.http(plain) as client:
        before = [p["id"] for p in client.get("/v1/predictions").json()["results"]]
        refused = client.post("/v1/predictions", json=body | {"priority": 0})
        refused_too = client.post(
            "/v1/models/sdq/tiny/predictions", json={"input": QUICK, "priority": 0}
        )
        out_of_range = [
            client.post("/v1/predictions", json=body | {"priority": p}) for p in (-1, 3)
        ]
        after = [p["id"] for p in client.get("/v1/predictions").json()["results"]]
        accepted = {level: submit(client, QUICK, TINY, priority=level) for level in (1, 2)}
        default = submit(client, QUICK, TINY)
    for response in (refused, refused_too, *out_of_range):
        assert response.status_code == 422, response.text
        assert [f["field"] for f in response.json()["invalid_fields"]] == ["priority"]
    assert after == before, "nothing was written"
    assert {level: p["priority"] for level, p in accepted.items()} == {1: 1, 2: 2}
    assert default["priority"] == 1
    with keyed.http(urgent) as client:
        assert submit(client, QUICK, TINY, priority=0)["priority"] == 0
        on_route = client.post(
            "/v1/models/sdq/tiny/predictions", json={"input": QUICK, "priority": 0}
        )
        assert on_route.status_code == 201 and on_route.json()["priority"] == 0, on_route.text
    with keyed.as_("bootstrap") as ops:  # an admin key may use 0 unless told otherwise
        assert submit(ops, QUICK, TINY, priority=0)["priority"] == 0
        bad = ops.post(
            "/v1/admin/keys", json={"name": "too-urgent", "role": "client", "max_priority": 5}
        )
        keys = [k["name"] for k in ops.get("/v1/admin/keys").json()["results"]]
    assert bad.status_code == 422, bad.text
    assert [f["field"] for f in bad.json()["invalid_fields"]] == ["max_priority"]
    assert "too-urgent" not in keys


def test_a_queued_jobs_position_falls_to_0_before_it_starts(keyed: KeyedStack) -> None:
    waiter = new_key(keyed, "waiter")
    with busy_worker(keyed) as blocker, keyed.http(waiter) as client:
        first = submit(client, QUICK | {"num_inference_steps": 2})
        ahead = submit(client, LONG)  # holds position 0 until the test cancels it
        target = submit(client, LONG)  # watched; canceled once seen running
        seen: list[dict[str, Any]] = [read(client, target["id"])]
        blocker.still_running()
        blocker.release()
        released: list[bool] = []

        def left_the_queue() -> dict[str, Any] | None:
            now = read(client, target["id"])
            if now["status"] not in ("starting", "queued") or now["queue_position"] is None:
                return now
            seen.append(now)
            if now["queue_position"] == 0 and not released:
                assert read(client, ahead["id"])["status"] == "processing", "0: next"
                cancel(client, ahead["id"])  # the target is next: let it start
                released.append(True)
            return None

        moved = wait_until(left_the_queue, 60, "the watched job to leave the queue", 0.1)
        running = wait_status(client, target["id"], "processing", timeout=30)
        cancel(client, target["id"])
        finished = wait_terminal(client, target["id"], timeout=30)
        assert read(client, first["id"])["status"] == "succeeded"
    positions = [p["queue_position"] for p in seen]
    assert positions[0] == 2, "two of the tenant's jobs were queued before it"
    assert positions == sorted(positions, reverse=True), f"positions rose: {positions}"
    assert positions[-1] == 0, f"it started without being next: {positions}"
    for queued in seen:
        assert datetime.fromisoformat(queued["eta"]).tzinfo is not None, queued["eta"]
    for left in (moved, running, finished):
        assert left["queue_position"] is None and left["eta"] is None, left
    assert finished["status"] == "canceled" and finished["started_at"] is not None


def stream_until_started(
    client: httpx.Client, url: str, on_update: Any, timeout: float = 60
) -> list[dict[str, Any]]:
    """The stream's events (`event`, `id` or None, `data`) up to and with `started`, read line by
    line (an SSE client would carry the last id over to events without one); `on_update` is
    called with each `queued` update's data as it arrives."""
    deadline = time.monotonic() + timeout
    events: list[dict[str, Any]] = []
    block: dict[str, Any] = {}
    with client.stream("GET", url) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():  # keep-alive comments arrive every 0.5 s
            assert time.monotonic() < deadline, f"no `started` within {timeout} s: {events}"
            if line.startswith(":"):
                continue
            if line:
                name, _, value = line.partition(":")
                block[name] = value.removeprefix(" ")
                continue
            if "data" not in block:
                block = {}
                continue
            event = {"event": block.get("event"), "id": block.get("id"), "data": block["data"]}
            events.append(event | {"data": json.loads(block["data"])})
            block = {}
            if event["event"] == "queued" and event["id"] is None:
                on_update(events[-1]["data"])
            if event["event"] == "started":
                return events
    raise AssertionError(f"the stream ended before `started`: {events}")


def test_a_queued_jobs_stream_says_each_new_position_until_it_starts(keyed: KeyedStack) -> None:
    watcher = new_key(keyed, "watcher")
    with busy_worker(keyed) as blocker, keyed.http(watcher) as client:
        ahead = submit(client, LONG)
        target = submit(client, QUICK)
        blocker.still_running()

        def on_update(data: dict[str, Any]) -> None:
            """Move the queue on only once the stream said where the job stands."""
            if data["queue_position"] == 1:
                blocker.release()  # `ahead` starts: the target is next
            elif data["queue_position"] == 0:
                cancel(client, ahead["id"])  # the target starts

        events = stream_until_started(client, target["urls"]["stream"], on_update)
    kinds = [e["event"] for e in events]
    updates = [e for e in events if e["event"] == "queued" and e["id"] is None]
    assert kinds[0] == "queued" and events[0]["id"], "the job's own queued event, replayed"
    assert kinds[-1] == "started" and events[-1]["id"]
    assert set(kinds[1:-1]) == {"queued"} and len(updates) == len(events) - 2, kinds
    positions = [u["data"]["queue_position"] for u in updates]
    assert positions == [1, 0], "each change once, in order"
    for update in updates:
        assert update["data"]["status"] == "queued"
        assert datetime.fromisoformat(update["data"]["eta"]).tzinfo is not None


def test_a1111_progress_of_a_queued_job_says_its_place_and_an_eta(keyed: KeyedStack) -> None:
    painter = new_key(keyed, "painter")  # its A1111 model: the first served, sdq/synthetic
    answers: list[httpx.Response] = []

    def txt2img() -> None:  # blocks until the job ends
        with keyed.http(painter) as own:
            body = {"prompt": "x", "width": 64, "height": 64, "steps": 1}
            answers.append(own.post("/sdapi/v1/txt2img", json=body))

    with busy_worker(keyed) as blocker, keyed.http(painter) as client:
        waiting = threading.Thread(target=txt2img)
        waiting.start()

        def queued_progress() -> dict[str, Any] | None:
            progress: dict[str, Any] = client.get("/sdapi/v1/progress").json()
            text = progress["textinfo"] or ""
            return progress if text.startswith("Waiting in the queue:") else None

        try:
            progress = wait_until(queued_progress, 60, "progress to say the job waits", 0.1)
            job = read(client, progress["state"]["job"])
            blocker.still_running()
        finally:
            client.post("/sdapi/v1/interrupt")
            waiting.join(timeout=60)
    assert not waiting.is_alive() and len(answers) == 1, "txt2img returned once interrupted"
    assert job["status"] == "starting" and job["queue_position"] is not None
    want = f"Waiting in the queue: {job['queue_position']} job(s) before it"
    assert progress["textinfo"] == want
    assert progress["eta_relative"] > 0 and progress["progress"] == 0
    with keyed.http(painter) as client:
        assert read(client, job["id"])["status"] == "canceled"
