"""Deadlines and admission over HTTP on a keyed stack (one synthetic worker; nothing serves
sdq/tiny, so its jobs stay queued): `Cancel-After` ends a job that never started `aborted` and
stops one that runs past it; a submit past `max_queued` (the model's or the key's) is a 429 with a
computed Retry-After and writes nothing."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest
from replicate.client import Client

from cli.embedded_redis import EmbeddedRedis
from sdq.admission import COLD_START_ESTIMATE_S, UNMEASURED_PREDICT_S
from tests.access_fixtures import SYNTHETIC, KeyedStack, started_keyed_stack
from tests.helpers import wait_terminal, wait_until

TINY = "sdq/tiny"  # no worker serves it here: its jobs stay queued


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedStack]:
    """A keyed stack on a Redis of its own: the Retry-After figures depend on the workers and the
    finished jobs Redis knows of, which other modules' stacks would add to."""
    with EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=False) as server:
        data_dir, logs = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("logs")
        with started_keyed_stack(server.url, data_dir, logs) as running:
            yield running


POLICY = f"/v1/admin/models/{TINY}/scaling"
QUICK = {"prompt": "x", "width": 64, "height": 64, "num_inference_steps": 2}


def create(client: httpx.Client, model: str, **headers: str) -> httpx.Response:
    return client.post("/v1/predictions", json={"model": model, "input": QUICK}, headers=headers)


def test_a_job_not_started_by_its_deadline_ends_aborted_and_never_runs(keyed: KeyedStack) -> None:
    with keyed.as_("alice") as alice:
        created = create(alice, TINY, **{"Cancel-After": "1s"})
        assert created.status_code == 201, created.text
        done = wait_terminal(alice, created.json()["id"], timeout=30)
    assert done["status"] == "aborted", done
    assert done["started_at"] is None and done["output"] is None
    assert "deadline passed before it started" in done["error"]


def test_a_job_running_past_its_deadline_is_stopped_and_canceled(keyed: KeyedStack) -> None:
    long = QUICK | {"num_inference_steps": 150}  # 7.5 s at the stack's step time
    with keyed.as_("alice") as alice:
        body = {"model": SYNTHETIC, "input": long}
        created = alice.post("/v1/predictions", json=body, headers={"Cancel-After": "3s"})
        assert created.status_code == 201, created.text
        done = wait_terminal(alice, created.json()["id"], timeout=60)
    assert done["status"] == "canceled", done
    assert done["started_at"] is not None
    assert "deadline" in done["error"] and "deadline" in done["logs"]


@pytest.mark.parametrize("value", ["soon", "0s", "25h", "-5s", "5 minutes", ""])
def test_a_bad_cancel_after_is_a_422_naming_it_and_creates_nothing(
    keyed: KeyedStack, value: str
) -> None:
    with keyed.as_("alice") as alice:
        before = alice.get("/v1/predictions", params={"limit": 1}).json()["results"]
        refused = create(alice, SYNTHETIC, **{"Cancel-After": value})
        after = alice.get("/v1/predictions", params={"limit": 1}).json()["results"]
    assert refused.status_code == 422, refused.text
    assert [f["field"] for f in refused.json()["invalid_fields"]] == ["Cancel-After"]
    assert [p["id"] for p in after] == [p["id"] for p in before], "nothing was written"


@pytest.fixture
def tiny_limit(keyed: KeyedStack) -> Iterator[int]:
    """sdq/tiny's live policy with `max_queued` at the number of its jobs queued now plus 2; the
    policy is put back and the jobs queued meanwhile canceled afterwards."""
    with keyed.as_("bootstrap") as ops:
        before = ops.get(POLICY).json()
        queued = ops.get(f"/v1/models/{TINY}").json()["queued"]
        limit = queued + 2
        assert ops.put(POLICY, json=before | {"max_queued": limit}).status_code == 200
        yield limit
        assert ops.put(POLICY, json=before).status_code == 200
        for job in ops.get("/v1/predictions", params={"status": "queued"}).json()["results"]:
            ops.post(f"/v1/predictions/{job['id']}/cancel")


def test_a_submit_past_the_models_max_queued_is_a_429_with_a_computed_retry_after(
    keyed: KeyedStack, tiny_limit: int
) -> None:
    with keyed.as_("alice") as alice:
        for _ in range(2):
            assert create(alice, TINY).status_code == 201
        listed = [p["id"] for p in alice.get("/v1/predictions").json()["results"]]
        refused = create(alice, TINY)
        assert [p["id"] for p in alice.get("/v1/predictions").json()["results"]] == listed
    assert refused.status_code == 429, refused.text
    assert "max_queued" in refused.json()["detail"] and TINY in refused.json()["detail"]
    # no worker is up for sdq/tiny and none of its jobs has finished: a cold start, then one
    # (unmeasured) predict time for the one job that must start to make room
    expected = round(COLD_START_ESTIMATE_S + UNMEASURED_PREDICT_S)
    assert refused.headers["retry-after"] == str(expected)


def test_a_keys_own_quota_is_a_429_naming_the_key(keyed: KeyedStack) -> None:
    name = f"quota-{secrets.token_hex(3)}"
    with keyed.as_("bootstrap") as ops:
        made = ops.post("/v1/admin/keys", json={"name": name, "max_queued": 1})
        assert made.status_code == 201 and made.json()["max_queued"] == 1, made.text
    with keyed.http(made.json()["key"]) as quota:
        first = create(quota, TINY)
        assert first.status_code == 201
        refused = create(quota, TINY)
        assert refused.status_code == 429 and "this key" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) >= 1
        assert create(quota, SYNTHETIC).status_code == 201, "the quota is per model"
        quota.post(f"/v1/predictions/{first.json()['id']}/cancel")
        wait_until(lambda: create(quota, TINY).status_code == 201, 10, "room again")
    with keyed.as_("bootstrap") as ops:
        for job in ops.get("/v1/predictions", params={"tenant": name}).json()["results"]:
            ops.post(f"/v1/predictions/{job['id']}/cancel")


def test_a_bad_quota_is_a_422_naming_it(keyed: KeyedStack) -> None:
    with keyed.as_("bootstrap") as ops:
        refused = ops.post("/v1/admin/keys", json={"name": "q", "max_queued": 0})
    assert refused.status_code == 422
    assert [f["field"] for f in refused.json()["invalid_fields"]] == ["max_queued"]


def test_openai_and_a1111_refusals_are_429s_in_their_shapes(
    keyed: KeyedStack, tiny_limit: int
) -> None:
    with keyed.as_("alice") as alice:
        for _ in range(2):
            assert create(alice, TINY).status_code == 201
        body = {"prompt": "x", "model": TINY, "size": "64x64"}
        openai = alice.post("/v1/images/generations", json=body)
        assert openai.status_code == 429 and "max_queued" in openai.json()["error"]["message"]
        assert alice.post("/sdapi/v1/options", json={"sd_model_checkpoint": TINY}).is_success
        a1111 = alice.post("/sdapi/v1/txt2img", json={"prompt": "x", "width": 64, "height": 64})
        assert a1111.status_code == 429 and "max_queued" in a1111.json()["detail"]
        assert alice.post("/sdapi/v1/options", json={"sd_model_checkpoint": SYNTHETIC}).is_success
    assert openai.headers["retry-after"] and a1111.headers["retry-after"]


def test_replicates_client_reads_an_aborted_prediction_as_canceled(keyed: KeyedStack) -> None:
    """Replicate's Python client (1.0.7) rejects a status it does not list, and its `wait()`
    would never end on one: it is told `canceled`, with the error saying why; others `aborted`."""
    with keyed.as_("alice") as alice:
        created = create(alice, TINY, **{"Cancel-After": "500ms"})
        done = wait_terminal(alice, created.json()["id"], timeout=30)
    assert done["status"] == "aborted"
    client = Client(api_token=keyed.secrets["alice"], base_url=keyed.url)
    seen = client.predictions.get(done["id"])
    assert seen.status == "canceled" and "deadline" in (seen.error or "")
    seen.wait()  # returns: a status the client knows to be terminal
    assert done["id"] in [p.id for p in client.predictions.list().results]
