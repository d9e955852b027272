"""Access control end to end: who may do what with keys on a real API over loopback (the
isolation matrix), 401s in each dialect, key management, and revocation seen by a second API."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sdq.job import new_job_id
from tests.access_fixtures import (
    BOOTSTRAP_SECRET,
    SYNTHETIC,
    KeyedStack,
    bearer,
    create_key,
    second_api,
)
from tests.helpers import wait_terminal, wait_until

QUICK = {"prompt": "x", "width": 64, "height": 64, "num_inference_steps": 1}
LONG_STEPS = 150  # seconds of work at the stack's step time: long enough to act on it running


@dataclass(frozen=True)
class World:
    """One finished prediction of each client, made once for the whole module."""

    alice_job: dict[str, Any]
    bob_job: dict[str, Any]


def finished_job(client: httpx.Client) -> dict[str, Any]:
    response = client.post(
        "/v1/predictions",
        json={"model": SYNTHETIC, "input": QUICK},
        headers={"Prefer": "wait=60"},
    )
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    assert job["status"] == "succeeded", job
    return job


@pytest.fixture(scope="module")
def world(keyed: KeyedStack) -> World:
    with keyed.as_("alice") as alice, keyed.as_("bob") as bob:
        return World(finished_job(alice), finished_job(bob))


def assert_error_in_dialect(response: httpx.Response) -> None:
    """An error answer is JSON in the shape of the dialect its path belongs to."""
    path = response.request.url.path
    assert_dialect_error(path, response.status_code, response.headers, response.content)


def assert_dialect_error(path: str, status: int, headers: Mapping[str, str], body: bytes) -> None:
    assert headers["content-type"].startswith("application/json"), body
    error = json.loads(body)
    if path.startswith("/v1/images"):
        assert set(error) == {"error"} and error["error"]["message"], error
        assert error["error"]["type"] == "invalid_request_error", error
    elif path.startswith("/sdapi"):
        assert {"error", "detail", "body", "errors"} <= set(error), error
        assert error["detail"], error
    else:
        assert error["status"] == status and error["title"] and error["detail"], error


# -- the isolation matrix -------------------------------------------------------------------

Action = Callable[[httpx.Client, World], httpx.Response]


def alices(suffix: str = "") -> Callable[[World], str]:
    return lambda world: f"/v1/predictions/{world.alice_job['id']}{suffix}"


ACTIONS: dict[str, Action] = {
    "create": lambda c, w: c.post("/v1/predictions", json={"model": SYNTHETIC, "input": QUICK}),
    "create by model path": lambda c, w: c.post(
        f"/v1/models/{SYNTHETIC}/predictions", json={"input": QUICK}
    ),
    "get alice's": lambda c, w: c.get(alices()(w)),
    "list": lambda c, w: c.get("/v1/predictions"),
    "list tenant=alice": lambda c, w: c.get("/v1/predictions", params={"tenant": "alice"}),
    "stream alice's": lambda c, w: c.get(alices("/stream")(w)),
    "cancel alice's (finished)": lambda c, w: c.post(alices("/cancel")(w)),
    "webhooks of alice's": lambda c, w: c.get(alices("/webhooks")(w)),
    "models": lambda c, w: c.get("/v1/models"),
    "a1111 progress": lambda c, w: c.get("/sdapi/v1/progress"),
    "a1111 options": lambda c, w: c.get("/sdapi/v1/options"),
    "a1111 interrupt": lambda c, w: c.post("/sdapi/v1/interrupt"),
    "openai generations": lambda c, w: c.post(
        "/v1/images/generations",
        json={"prompt": "x", "size": "64x64", "quality": "low", "response_format": "b64_json"},
    ),
    "admin list keys": lambda c, w: c.get("/v1/admin/keys"),
    "admin create key": lambda c, w: c.post("/v1/admin/keys", json={"name": "matrix"}),
    "admin scaling": lambda c, w: c.get(f"/v1/admin/models/{SYNTHETIC}/scaling"),
    "admin scaling events": lambda c, w: c.get("/v1/admin/scaling/events"),
}

# Expected status for (alice, bob, an admin key) on alice's things; the bootstrap key is an admin.
EXPECTED: dict[str, tuple[int, int, int]] = {
    "create": (201, 201, 201),
    "create by model path": (201, 201, 201),
    "get alice's": (200, 404, 200),
    "list": (200, 200, 200),
    "list tenant=alice": (422, 422, 200),
    "stream alice's": (200, 404, 200),
    "cancel alice's (finished)": (200, 404, 200),
    "webhooks of alice's": (200, 404, 200),
    "models": (200, 200, 200),
    "a1111 progress": (200, 200, 200),
    "a1111 options": (200, 200, 200),
    "a1111 interrupt": (200, 200, 200),
    "openai generations": (200, 200, 200),
    "admin list keys": (403, 403, 200),
    "admin create key": (403, 403, 201),
    "admin scaling": (403, 403, 200),
    "admin scaling events": (403, 403, 200),
}
assert set(EXPECTED) == set(ACTIONS)

KEYED = ("alice", "bob", "ops", "bootstrap")
# Callers without a usable key: none, one no key looks like, one of another deployment, revoked.
UNKEYED = ("no key", "malformed key", "unknown key", "revoked key")
MATRIX = [
    (who, action, EXPECTED[action][min(KEYED.index(who), 2)] if who in KEYED else 401)
    for action in ACTIONS
    for who in KEYED + UNKEYED
]


def client_for(keyed: KeyedStack, who: str) -> httpx.Client:
    if who in KEYED:
        return keyed.as_(who)
    secret = {
        "no key": None,
        "malformed key": "sdq_not a key!",
        "unknown key": "sdq_" + secrets.token_urlsafe(32),
        "revoked key": keyed.secrets["revoked"],
    }[who]
    return keyed.http(secret)


@pytest.mark.parametrize(("who", "action", "expected"), MATRIX)
def test_isolation_matrix(
    keyed: KeyedStack, world: World, who: str, action: str, expected: int
) -> None:
    with client_for(keyed, who) as client:
        response = ACTIONS[action](client, world)
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert_error_in_dialect(response)
    if expected == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    if expected == 200 and action == "get alice's":
        assert response.json()["id"] == world.alice_job["id"]
    if expected == 200 and action == "cancel alice's (finished)":
        assert response.json()["status"] == "succeeded", "a finished job stays finished"


# -- tenancy, one concern at a time ---------------------------------------------------------

ON_ALICES = [
    ("GET", ""),
    ("GET", "/stream"),
    ("POST", "/cancel"),
    ("GET", "/webhooks"),
]


@pytest.mark.parametrize(("method", "suffix"), ON_ALICES)
def test_another_tenants_prediction_is_a_404_like_a_missing_one(
    keyed: KeyedStack, world: World, method: str, suffix: str
) -> None:
    alice_id, missing_id = world.alice_job["id"], new_job_id()
    with keyed.as_("bob") as bob:
        theirs = bob.request(method, f"/v1/predictions/{alice_id}{suffix}")
        missing = bob.request(method, f"/v1/predictions/{missing_id}{suffix}")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.headers["content-type"] == missing.headers["content-type"]
    assert theirs.text.replace(alice_id, "ID") == missing.text.replace(missing_id, "ID")


def listed_ids(client: httpx.Client, **params: str) -> set[str]:
    response = client.get("/v1/predictions", params=params)
    assert response.status_code == 200, response.text
    return {p["id"] for p in response.json()["results"]}


def test_lists_hold_only_the_callers_predictions_and_all_for_an_admin(
    keyed: KeyedStack, world: World
) -> None:
    alice_id, bob_id = world.alice_job["id"], world.bob_job["id"]
    with keyed.as_("alice") as alice, keyed.as_("bob") as bob, keyed.as_("ops") as ops:
        alices_list, bobs_list = listed_ids(alice), listed_ids(bob)
        assert alice_id in alices_list and bob_id not in alices_list
        assert bob_id in bobs_list and alice_id not in bobs_list
        assert not alices_list & bobs_list
        assert {alice_id, bob_id} <= listed_ids(ops)
        assert listed_ids(ops, tenant="alice") == listed_ids(alice)
        assert listed_ids(ops, tenant="nobody") == set()
        refused = alice.get("/v1/predictions", params={"tenant": "bob"})
    assert refused.status_code == 422
    assert [f["field"] for f in refused.json()["invalid_fields"]] == ["tenant"]


def test_lists_filter_by_model_within_the_callers_own(keyed: KeyedStack, world: World) -> None:
    with keyed.as_("alice") as alice:
        assert world.alice_job["id"] in listed_ids(alice, model=SYNTHETIC)
        assert listed_ids(alice, model="sdq/tiny") == set()  # listed, no job of it here
        unknown = alice.get("/v1/predictions", params={"model": "sdq/none"})
    assert unknown.status_code == 422
    [field] = unknown.json()["invalid_fields"]
    assert field["field"] == "model" and "sdq/synthetic" in field["description"]


ACCOUNTS = [  # (who, username, role): whose key answers GET /v1/account
    ("alice", "alice", "client"),
    ("ops", "ops", "admin"),
    ("bootstrap", "admin", "admin"),
]


@pytest.mark.parametrize(("who", "username", "role"), ACCOUNTS)
def test_the_account_call_says_whose_key_it_is(
    keyed: KeyedStack, who: str, username: str, role: str
) -> None:
    with keyed.as_(who) as client:
        account = client.get("/v1/account").json()
    assert (account["username"], account["role"], account["type"]) == (username, role, "user")
    with keyed.http() as anonymous:
        assert anonymous.get("/v1/account").status_code == 401


def test_prefer_wait_answers_the_callers_own_finished_job(keyed: KeyedStack) -> None:
    with keyed.as_("alice") as alice, keyed.as_("bob") as bob:
        job = finished_job(alice)
        assert alice.get(f"/v1/predictions/{job['id']}").json()["status"] == "succeeded"
        assert bob.get(f"/v1/predictions/{job['id']}").status_code == 404


def long_job(client: httpx.Client) -> str:
    body = {"model": SYNTHETIC, "input": QUICK | {"num_inference_steps": LONG_STEPS}}
    response = client.post("/v1/predictions", json=body)
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


def test_a_client_cannot_cancel_another_tenants_job(keyed: KeyedStack) -> None:
    with keyed.as_("alice") as alice, keyed.as_("bob") as bob:
        job_id = long_job(alice)
        assert bob.post(f"/v1/predictions/{job_id}/cancel").status_code == 404
        assert alice.get(f"/v1/predictions/{job_id}").json()["status"] != "canceled"
        canceled = alice.post(f"/v1/predictions/{job_id}/cancel")
        assert canceled.status_code == 200
        assert wait_terminal(alice, job_id, 60)["status"] == "canceled"


def test_output_links_download_without_a_header_and_only_the_owner_gets_them(
    keyed: KeyedStack, world: World
) -> None:
    [url] = world.alice_job["output"]
    image = httpx.get(url)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    alice_id = world.alice_job["id"]
    with keyed.as_("bob") as bob:
        assert bob.get(f"/v1/predictions/{alice_id}").status_code == 404
        assert bob.get(f"/v1/predictions/{alice_id}/stream").status_code == 404
        listed = bob.get("/v1/predictions").text
    assert alice_id not in listed and url not in listed


def test_the_webhooks_listing_is_the_owners(keyed: KeyedStack, world: World) -> None:
    path = f"/v1/predictions/{world.alice_job['id']}/webhooks"
    with keyed.as_("alice") as alice, keyed.as_("bob") as bob, keyed.as_("ops") as ops:
        assert alice.get(path).json() == {"results": []}
        assert ops.get(path).json() == {"results": []}
        assert bob.get(path).status_code == 404


# -- AUTOMATIC1111: state per tenant, Basic auth ------------------------------------------


def a1111_progress(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/sdapi/v1/progress", params={"skip_current_image": "true"})
    assert response.status_code == 200, response.text
    progress: dict[str, Any] = response.json()
    return progress


def test_a1111_progress_and_interrupt_act_within_the_callers_tenant(keyed: KeyedStack) -> None:
    results: list[httpx.Response] = []
    body = {"prompt": "x", "width": 64, "height": 64, "steps": LONG_STEPS}
    with keyed.as_("alice") as alice, keyed.as_("bob") as bob:
        runner = threading.Thread(
            target=lambda: results.append(alice.post("/sdapi/v1/txt2img", json=body))
        )
        runner.start()
        try:
            running = wait_until(
                lambda: (p := a1111_progress(alice))["state"]["sampling_step"] > 0 and p,
                60,
                "alice's A1111 job to make progress",
            )
            job_id = running["state"]["job"]
            seen_by_bob = a1111_progress(bob)
            assert seen_by_bob["state"]["job"] != job_id and seen_by_bob["progress"] == 0
            assert bob.post("/sdapi/v1/interrupt").status_code == 200
            step = a1111_progress(alice)["state"]["sampling_step"]

            def moved_on() -> bool:
                status: str = alice.get(f"/v1/predictions/{job_id}").json()["status"]
                later: int = a1111_progress(alice)["state"]["sampling_step"]
                return status != "processing" or later >= step + 3

            wait_until(moved_on, 60, "alice's job to run on past bob's interrupt")
            assert alice.get(f"/v1/predictions/{job_id}").json()["status"] != "canceled"
        finally:
            alice.post("/sdapi/v1/interrupt")
            runner.join(timeout=60)
    [answer] = results
    assert answer.status_code == 200, answer.text


def test_a1111_options_are_per_tenant(keyed: KeyedStack) -> None:
    with keyed.as_("alice") as alice, keyed.as_("bob") as bob:
        assert bob.get("/sdapi/v1/options").json()["sd_model_checkpoint"] == SYNTHETIC
        try:
            changed = alice.post("/sdapi/v1/options", json={"sd_model_checkpoint": "sdq/tiny"})
            assert changed.status_code == 200, changed.text
            assert alice.get("/sdapi/v1/options").json()["sd_model_checkpoint"] == "sdq/tiny"
            assert bob.get("/sdapi/v1/options").json()["sd_model_checkpoint"] == SYNTHETIC
        finally:
            alice.post("/sdapi/v1/options", json={"sd_model_checkpoint": SYNTHETIC})


def test_a1111_takes_the_key_as_the_basic_password(keyed: KeyedStack) -> None:
    with httpx.Client(base_url=keyed.url, auth=("anyone", keyed.secrets["alice"])) as basic:
        assert basic.get("/sdapi/v1/options").status_code == 200
        assert basic.get("/sdapi/v1/progress").status_code == 200
        # Basic is A1111's way only: the native API does not take it.
        refused = basic.get("/v1/predictions")
    assert refused.status_code == 401
    assert_error_in_dialect(refused)
    with httpx.Client(base_url=keyed.url, auth=("alice", "wrong")) as wrong:
        assert wrong.get("/sdapi/v1/options").status_code == 401


def test_a1111_without_a_key_is_a_401_asking_for_basic(keyed: KeyedStack) -> None:
    with keyed.http() as anonymous:
        refused = anonymous.get("/sdapi/v1/options")
    assert refused.status_code == 401
    assert "Basic" in refused.headers["www-authenticate"]
    assert_error_in_dialect(refused)


# -- OpenAI -----------------------------------------------------------------------------------


def test_openai_images_with_a_key_and_without(keyed: KeyedStack) -> None:
    body = {"prompt": "x", "size": "64x64", "quality": "low", "response_format": "b64_json"}
    with keyed.as_("alice") as alice:
        made = alice.post("/v1/images/generations", json=body)
    assert made.status_code == 200, made.text
    assert base64.b64decode(made.json()["data"][0]["b64_json"]).startswith(b"\x89PNG")
    with keyed.http() as anonymous:
        refused = anonymous.post("/v1/images/generations", json=body)
    assert refused.status_code == 401 and refused.headers["www-authenticate"]
    assert_error_in_dialect(refused)


# -- bad Authorization headers -------------------------------------------------------------

BAD_HEADERS: list[tuple[str, bytes]] = [
    ("empty bearer", b"Bearer"),
    ("bearer and space", b"Bearer "),
    ("two words", b"Bearer a b"),
    ("5000 chars", b"Bearer " + b"a" * 5000),
    ("non-ascii", "Bearer sdq_clé".encode()),
    ("latin-1", "Bearer sdq_\xe9".encode("latin-1")),
    ("unknown scheme", b"Digest username=alice"),
    ("scheme only", b"Negotiate"),
    ("basic not base64", b"Basic !!!"),
    ("basic no colon", b"Basic " + base64.b64encode(b"justakey")),
    ("basic non-utf8", b"Basic " + base64.b64encode(b"user:\xff\xfe")),
    ("tab inside", b"Bearer sdq_a\tb"),
]


def raw_request(
    port: int, method: str, path: str, authorization: bytes, body: bytes | None
) -> tuple[int, dict[str, str], bytes]:
    """One request with the Authorization header's bytes as given (httpx refuses to send some
    of these, such as a trailing space)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest(method, path)
        connection.putheader("Authorization", authorization)
        if body is not None:
            connection.putheader("Content-Type", "application/json")
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        connection.close()


PATHS = [
    ("GET", "/v1/predictions"),
    ("GET", "/sdapi/v1/options"),
    ("POST", "/v1/images/generations"),
    ("GET", "/v1/admin/keys"),
]


@pytest.mark.parametrize(("method", "path"), PATHS)
@pytest.mark.parametrize(("label", "header"), BAD_HEADERS, ids=[h[0] for h in BAD_HEADERS])
def test_malformed_authorization_is_a_clean_401(
    keyed: KeyedStack, method: str, path: str, label: str, header: bytes
) -> None:
    body = b'{"prompt": "x"}' if method == "POST" else None
    status, headers, answer = raw_request(keyed.stack.port, method, path, header, body)
    assert status == 401, answer
    assert headers["www-authenticate"]
    assert_dialect_error(path, status, headers, answer)


UNREADABLE_BODIES = [
    ("/v1/predictions", "title"),
    (f"/v1/models/{SYNTHETIC}/predictions", "title"),
    ("/sdapi/v1/txt2img", "error"),
    ("/v1/images/generations", "error"),
]


@pytest.mark.parametrize(("path", "shape_key"), UNREADABLE_BODIES)
def test_no_key_is_a_401_even_when_the_body_is_not_json(
    keyed: KeyedStack, path: str, shape_key: str
) -> None:
    """Who is calling is settled before the body is read: an anonymous caller learns nothing of
    how its body would be judged."""
    with keyed.http() as anonymous:
        response = anonymous.post(
            path, content=b"{not json", headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 401, response.text
    assert shape_key in response.json() and response.headers["www-authenticate"]


def test_replicates_older_token_scheme_is_accepted(keyed: KeyedStack) -> None:
    headers = {"Authorization": f"Token {keyed.secrets['alice']}"}
    with httpx.Client(base_url=keyed.url, headers=headers) as client:
        assert client.get("/v1/predictions").status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_are_open(keyed: KeyedStack, path: str) -> None:
    with keyed.http() as anonymous:
        assert anonymous.get(path).status_code == 200


# -- keys: creation, listing, attribution, revocation ---------------------------------------


def test_the_bootstrap_key_creates_keys_with_a_secret_shown_once(keyed: KeyedStack) -> None:
    with keyed.as_("bootstrap") as bootstrap:
        response = bootstrap.post("/v1/admin/keys", json={"name": "dave", "role": "client"})
        again = create_key(bootstrap, "dave", "client")
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "name", "role", "created_at", "max_queued", "max_priority", "key"}
    assert (created["name"], created["role"]) == ("dave", "client")
    secret = created["key"]
    assert secret.startswith("sdq_") and len(secret) >= 4 + 22
    random_part = base64.urlsafe_b64decode(secret[4:] + "=" * (-len(secret[4:]) % 4))
    assert len(random_part) >= 16, "at least 128 random bits"
    assert again["key"] != secret and again["id"] != created["id"]
    with keyed.http(secret) as dave:
        assert dave.get("/v1/predictions").status_code == 200


def test_a_client_key_cannot_create_keys(keyed: KeyedStack) -> None:
    with keyed.as_("alice") as alice:
        refused = alice.post("/v1/admin/keys", json={"name": "eve", "role": "admin"})
    assert refused.status_code == 403
    assert_error_in_dialect(refused)


def test_a_client_cannot_claim_a_tenant_when_creating(keyed: KeyedStack) -> None:
    body = {"model": SYNTHETIC, "input": QUICK, "tenant": "bob"}
    with keyed.as_("alice") as alice:
        refused = alice.post("/v1/predictions", json=body)
    assert refused.status_code == 422
    assert [f["field"] for f in refused.json()["invalid_fields"]] == ["tenant"]


def test_a_key_named_like_the_bootstrap_key_cannot_see_its_predictions(
    keyed: KeyedStack,
) -> None:
    """The bootstrap key (SDQ_ADMIN_KEY) is a tenant too: a client key an admin names the same
    must not read its predictions (refusing the name is as good)."""
    with keyed.as_("bootstrap") as bootstrap:
        job = finished_job(bootstrap)
        response = bootstrap.post("/v1/admin/keys", json={"name": "admin", "role": "client"})
    if response.status_code != 201:
        assert response.status_code in (409, 422), response.text
        return
    with keyed.http(response.json()["key"]) as namesake:
        assert namesake.get(f"/v1/predictions/{job['id']}").status_code == 404
        assert job["id"] not in listed_ids(namesake)


@pytest.mark.parametrize("name", ["admin", "default", "Admin"])
def test_reserved_names_are_refused_naming_the_field(keyed: KeyedStack, name: str) -> None:
    with keyed.as_("bootstrap") as bootstrap:
        refused = bootstrap.post("/v1/admin/keys", json={"name": name, "role": "client"})
    assert refused.status_code == 422, refused.text
    assert [f["field"] for f in refused.json()["invalid_fields"]] == ["name"]


def test_a_name_keeps_one_role(keyed: KeyedStack) -> None:
    """A client key named like the admin `ops` would share its tenant: refused."""
    with keyed.as_("bootstrap") as bootstrap:
        refused = bootstrap.post("/v1/admin/keys", json={"name": "ops", "role": "client"})
        rotated = bootstrap.post("/v1/admin/keys", json={"name": "ops", "role": "admin"})
    assert refused.status_code == 409, refused.text
    assert "ops" in refused.json()["detail"]
    assert rotated.status_code == 201, "another key of the same name and role: a rotation"


def test_failed_authentications_are_logged_without_the_secret(keyed: KeyedStack) -> None:
    unknown = "sdq_" + secrets.token_urlsafe(32)
    with keyed.http(unknown) as stranger:
        assert stranger.get("/v1/predictions").status_code == 401
    log = (keyed.stack.logs / "api.log").read_text()
    assert "authentication failed" in log
    for secret in [unknown, *keyed.secrets.values(), BOOTSTRAP_SECRET]:
        assert secret not in log


def test_the_key_list_shows_no_secrets(keyed: KeyedStack) -> None:
    with keyed.as_("ops") as ops:
        response = ops.get("/v1/admin/keys")
    assert response.status_code == 200
    listed = {key["name"]: key for key in response.json()["results"]}
    assert {"alice", "bob", "ops"} <= set(listed) and "revoked" not in listed
    for key in listed.values():
        assert set(key) == {
            "id",
            "name",
            "role",
            "created_at",
            "last_used_at",
            "max_queued",
            "max_priority",
        }
    assert (listed["alice"]["role"], listed["ops"]["role"]) == ("client", "admin")
    for secret in [*keyed.secrets.values(), BOOTSTRAP_SECRET]:
        assert secret not in response.text
        assert hashlib.sha256(secret.encode()).hexdigest() not in response.text


BAD_KEY_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"role": "client"}, "name"),
    ({"name": "eve", "role": "root"}, "role"),
    ({"name": "eve smith"}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 65}, "name"),
    ({"name": "eve", "scopes": ["all"]}, "scopes"),
]


@pytest.mark.parametrize(("body", "field"), BAD_KEY_BODIES)
def test_a_bad_key_request_is_a_422_naming_the_field(
    keyed: KeyedStack, body: dict[str, Any], field: str
) -> None:
    with keyed.as_("ops") as ops:
        refused = ops.post("/v1/admin/keys", json=body)
    assert refused.status_code == 422, refused.text
    assert [f["field"] for f in refused.json()["invalid_fields"]] == [field]


def test_a_policy_change_is_attributed_to_the_admin_keys_name(keyed: KeyedStack) -> None:
    path = f"/v1/admin/models/{SYNTHETIC}/scaling"
    with keyed.as_("ops") as ops:
        policy = ops.get(path).json()
        changed = ops.put(path, json=policy, headers={"X-Sdq-Operator": "someone-else"})
        assert changed.status_code == 200, changed.text
        [latest, *_] = ops.get("/v1/admin/scaling/events").json()["policy_changes"]
    assert (latest["who"], latest["model"]) == ("ops", SYNTHETIC)


def test_a_revoked_key_is_refused_by_a_second_api_process(keyed: KeyedStack) -> None:
    with keyed.as_("ops") as ops:
        carol = create_key(ops, "carol", "client")
        with second_api(keyed.stack) as other_url:
            first = httpx.Client(base_url=keyed.url, headers=bearer(carol["key"]))
            second = httpx.Client(base_url=other_url, headers=bearer(carol["key"]))
            with first, second:
                assert first.get("/v1/predictions").status_code == 200
                assert second.get("/v1/predictions").status_code == 200  # now in its cache
                assert ops.delete(f"/v1/admin/keys/{carol['id']}").status_code == 200
                assert first.get("/v1/predictions").status_code == 401
                wait_until(
                    lambda: second.get("/v1/predictions").status_code == 401,
                    10,
                    "the second API to refuse the revoked key",
                )
        assert ops.delete(f"/v1/admin/keys/{carol['id']}").status_code == 404
