"""`POST /v1/predictions/{id}/retry` and `GET /v1/predictions?status=` end to end on a keyed
stack: a failed or canceled prediction runs again as a new one linked to it, a queued, running or
succeeded one is a 409 naming its status, another tenant's a 404, an expired starting image a
409; the list filters by status within the caller's tenant, page by page."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
from PIL import Image

from sdq.storage import LocalOutputStorage
from sdq.store import redis_keys
from tests.access_fixtures import SYNTHETIC, KeyedStack
from tests.helpers import wait_status, wait_terminal, wait_until

QUICK = {"prompt": "x", "width": 64, "height": 64, "num_inference_steps": 2}
LONG_STEPS = 150  # seconds of work at the stack's step time: the worker is busy meanwhile
HOOK = "http://127.0.0.1:9/retry-hook"


def png_data_url() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 90)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def create(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/predictions", json={"model": SYNTHETIC} | body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def retry(client: httpx.Client, prediction_id: str, **headers: str) -> httpx.Response:
    return client.post(f"/v1/predictions/{prediction_id}/retry", headers=headers)


def job_field(keyed: KeyedStack, job_id: str, field: str) -> str | None:
    with redis.Redis.from_url(keyed.stack.redis_url, decode_responses=True) as client:
        value: str | None = client.hget(redis_keys.job(job_id), field)
        return value


@dataclass(frozen=True)
class Ended:
    """Alice's predictions that ended without success, made once for the module."""

    failed: dict[str, Any]  # image-to-image whose stored image was gone when it ran
    canceled: dict[str, Any]  # canceled while queued; has a webhook
    image: bytes  # the failed one's starting image, as stored


@pytest.fixture(scope="module")
def ended(keyed: KeyedStack) -> Ended:
    """With the one worker busy, queue two jobs; cancel one, take the other's stored image away
    (it fails when it runs), and check what cannot be retried while they wait."""
    storage = LocalOutputStorage(keyed.stack.data_dir / "outputs")
    with keyed.as_("alice") as alice:
        blocker = create(alice, {"input": QUICK | {"num_inference_steps": LONG_STEPS}})
        wait_status(alice, blocker["id"], "processing")
        failing = create(alice, {"input": QUICK | {"image": png_data_url()}})
        canceled = create(alice, {"input": QUICK, "webhook": HOOK})
        for job, status in ((canceled, "starting"), (blocker, "processing")):
            refused = retry(alice, job["id"])
            assert refused.status_code == 409, refused.text
            assert f"is {status};" in refused.json()["detail"]
        assert alice.post(f"/v1/predictions/{canceled['id']}/cancel").status_code == 200
        image_key = failing["input"]["image"]
        image = storage.get(image_key)
        storage.delete(image_key)
        assert alice.post(f"/v1/predictions/{blocker['id']}/cancel").status_code == 200
        assert wait_terminal(alice, failing["id"])["status"] == "failed"
        gone = retry(alice, failing["id"])
        assert gone.status_code == 409 and "no longer stored" in gone.json()["detail"]
        storage.put(image_key, image, "image/png")
        return Ended(
            wait_terminal(alice, failing["id"]), wait_terminal(alice, canceled["id"]), image
        )


def test_a_failed_prediction_runs_again_as_a_new_one(keyed: KeyedStack, ended: Ended) -> None:
    storage = LocalOutputStorage(keyed.stack.data_dir / "outputs")
    with keyed.as_("alice") as alice:
        answer = retry(alice, ended.failed["id"])
        assert answer.status_code == 201, answer.text
        again = answer.json()
        assert again["id"] != ended.failed["id"] and again["status"] == "starting"
        done = wait_terminal(alice, again["id"])
    assert done["status"] == "succeeded", done
    assert done["output"]
    image_key = done["input"]["image"]
    assert image_key.startswith(f"{again['id']}/")  # a copy of its own, kept as long as it is
    assert storage.get(image_key) == ended.image
    without_image = {k: v for k, v in done["input"].items() if k != "image"}
    assert without_image == {k: v for k, v in ended.failed["input"].items() if k != "image"}
    assert job_field(keyed, again["id"], "retry_of") == ended.failed["id"]
    assert done["retry_of"] == ended.failed["id"], "the prediction names the one it repeats"


def test_a_canceled_prediction_runs_again_with_its_webhook(keyed: KeyedStack, ended: Ended) -> None:
    with keyed.as_("alice") as alice:
        answer = retry(alice, ended.canceled["id"])
        assert answer.status_code == 201, answer.text
        done = wait_terminal(alice, answer.json()["id"])
        assert done["status"] == "succeeded"
        assert done["input"] == ended.canceled["input"]  # the same seed too
        assert job_field(keyed, done["id"], "webhook") == HOOK
        assert job_field(keyed, done["id"], "tenant") == "alice"
        succeeded = retry(alice, done["id"])
    assert succeeded.status_code == 409
    assert "is succeeded;" in succeeded.json()["detail"]


def test_another_tenants_prediction_is_a_404_and_an_admin_retries_for_its_owner(
    keyed: KeyedStack, ended: Ended
) -> None:
    with keyed.as_("bob") as bob, keyed.as_("ops") as ops, keyed.as_("alice") as alice:
        assert retry(bob, ended.canceled["id"]).status_code == 404
        by_admin = retry(ops, ended.canceled["id"])
        assert by_admin.status_code == 201, by_admin.text
        assert alice.get(f"/v1/predictions/{by_admin.json()['id']}").status_code == 200
        assert bob.get(f"/v1/predictions/{by_admin.json()['id']}").status_code == 404


def test_a_retry_with_an_idempotency_key_is_made_once(keyed: KeyedStack, ended: Ended) -> None:
    with keyed.as_("alice") as alice:
        first = retry(alice, ended.canceled["id"], **{"Idempotency-Key": "retry-once"})
        again = retry(alice, ended.canceled["id"], **{"Idempotency-Key": "retry-once"})
        other = retry(alice, ended.failed["id"], **{"Idempotency-Key": "retry-once"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and again.headers["Idempotent-Replayed"]
    assert other.status_code == 422


def listed(client: httpx.Client, **params: str) -> list[str]:
    """Every page's ids, following `next` to the end."""
    ids: list[str] = []
    response = client.get("/v1/predictions", params=params)
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [p["id"] for p in page["results"]]
        if page["next"] is None:
            return ids
        response = client.get(page["next"])


def all_ended(client: httpx.Client) -> dict[str, Any] | None:
    """The first page of the caller's predictions once none is queued or running, else None."""
    page: dict[str, Any] = client.get("/v1/predictions").json()
    waiting = {"starting", "processing"}
    return None if any(p["status"] in waiting for p in page["results"]) else page


def test_the_list_filters_by_status_within_the_tenant(keyed: KeyedStack, ended: Ended) -> None:
    failed, canceled = ended.failed["id"], ended.canceled["id"]
    with keyed.as_("alice") as alice, keyed.as_("bob") as bob, keyed.as_("ops") as ops:
        assert failed in listed(alice, status="failed")
        assert failed not in listed(alice, status="canceled")
        assert canceled in listed(alice, status="canceled")
        assert failed not in listed(bob, status="failed")
        assert failed in listed(ops, status="failed")
        assert failed in listed(ops, status="failed", tenant="alice")
        assert failed not in listed(ops, status="failed", tenant="bob")
        # The retries of the tests before may still run: compare once none can change status.
        settled = wait_until(lambda: all_ended(alice), 120, "alice's predictions to end")
        everything = settled["results"]
        for status in ("succeeded", "canceled", "failed"):
            one_by_one = listed(alice, status=status, limit="1")
            assert one_by_one == [p["id"] for p in everything if p["status"] == status]
        refused = alice.get("/v1/predictions", params={"status": "done"})
    assert refused.status_code == 422
    assert [f["field"] for f in refused.json()["invalid_fields"]] == ["status"]
