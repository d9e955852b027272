"""Caps on the requests held open on jobs, over real HTTP against a keyed API: a tenant past its
cap, and everyone past the server's, get a 429 in their dialect (streams, A1111 calls: no job
made) or an immediate answer (`Prefer: wait`); a closed stream frees its slot."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pytest

from cli.embedded_redis import EmbeddedRedis
from tests.access_fixtures import KeyedStack, started_keyed_stack

# sdq/tiny is listed but not served on the keyed stack: its jobs stay queued, their streams open.
QUEUED_MODEL = "sdq/tiny"
CAPS = {"SDQ_MAX_OPEN_WAITS": "3", "SDQ_MAX_OPEN_WAITS_PER_TENANT": "2"}


@pytest.fixture(scope="module")
def capped(
    redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KeyedStack]:
    data_dir, logs = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("logs")
    with started_keyed_stack(redis_server.url, data_dir, logs, **CAPS) as running:
        yield running


def queued_job(client: httpx.Client) -> str:
    created = client.post(f"/v1/models/{QUEUED_MODEL}/predictions", json={"input": {"prompt": "x"}})
    assert created.status_code == 201, created.text
    job_id: str = created.json()["id"]
    return job_id


@contextlib.contextmanager
def open_stream(client: httpx.Client, job_id: str) -> Iterator[httpx.Response]:
    """A stream held open (its headers read: the server holds its slot)."""
    with client.stream("GET", f"/v1/predictions/{job_id}/stream") as response:
        yield response


def jobs_of(client: httpx.Client) -> int:
    return len(client.get("/v1/predictions", params={"limit": 100}).json()["results"])


def test_caps_per_tenant_and_per_server(capped: KeyedStack) -> None:
    with capped.as_("alice") as alice, capped.as_("bob") as bob, contextlib.ExitStack() as held:
        jobs = [queued_job(alice) for _ in range(3)]
        for job_id in jobs[:2]:
            assert held.enter_context(open_stream(alice, job_id)).status_code == 200
        third = alice.get(f"/v1/predictions/{jobs[2]}/stream")
        assert third.status_code == 429 and third.headers["retry-after"] == "1"
        assert "SDQ_MAX_OPEN_WAITS_PER_TENANT" in third.json()["detail"]

        before = jobs_of(alice)
        a1111 = alice.post("/sdapi/v1/txt2img", json={"prompt": "x", "steps": 1})
        assert a1111.status_code == 429
        assert "SDQ_MAX_OPEN_WAITS_PER_TENANT" in a1111.json()["detail"]  # A1111's shape
        body = {"input": {"prompt": "x"}}
        waited = alice.post(
            f"/v1/models/{QUEUED_MODEL}/predictions", json=body, headers={"Prefer": "wait=5"}
        )
        assert waited.status_code == 201 and waited.json()["status"] == "starting"  # at once
        assert jobs_of(alice) == before + 1, "the refused A1111 call made no job"

        bobs = queued_job(bob)
        assert held.enter_context(open_stream(bob, bobs)).status_code == 200
        full = bob.get(f"/v1/predictions/{bobs}/stream")
        assert full.status_code == 429 and "(SDQ_MAX_OPEN_WAITS)" in full.json()["detail"]
        openai = bob.post("/v1/images/generations", json={"prompt": "x"})
        assert openai.status_code == 429 and "error" in openai.json()  # OpenAI's shape

    # Every stream above was closed: the slots are free again.
    with capped.as_("alice") as alice, open_stream(alice, jobs[2]) as again:
        assert again.status_code == 200
