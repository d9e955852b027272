"""Per-tenant webhook secrets over a real keyed API, worker and webhook service: a tenant reads,
sets, rotates and drops its own secret at `/v1/webhooks/default/secret`; its deliveries are
signed with it (and not with the global one); another tenant keeps its default, a secret derived
for it alone, and never sees the first tenant's."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from standardwebhooks import Webhook

from cli.embedded_redis import EmbeddedRedis
from sdq.webhook_secret import new_webhook_secret, tenant_default_secret
from tests.access_fixtures import (
    BOOTSTRAP_SECRET,
    KEYED_ENV,
    SYNTHETIC,
    bearer,
    create_key,
    wait_for_synthetic_worker,
)
from tests.helpers import WEBHOOK_SECRET, Stack, started_api, wait_until
from tests.receiver import Receiver

SECRET_PATH = "/v1/webhooks/default/secret"
QUICK = {"prompt": "hook", "width": 64, "height": 64, "num_inference_steps": 1}


@dataclass
class Tenants:
    """The running stack and two client keys of tenants of their own (unique to this run)."""

    stack: Stack
    keys: dict[str, str]
    names: dict[str, str]  # who -> the key's name: its tenant

    def as_(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.stack.url, timeout=60, headers=bearer(self.keys[who]))


@pytest.fixture(scope="module")
def tenants(
    redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tenants]:
    """A keyed API, a synthetic worker and the webhook service; two client keys."""
    data, logs = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("logs")
    with started_api(redis_server.url, data, logs, **KEYED_ENV) as stack:
        stack.start_worker(SYNTHETIC)
        stack.start_webhooks()
        run = secrets.token_hex(4)
        with httpx.Client(base_url=stack.url, timeout=30, headers=bearer(BOOTSTRAP_SECRET)) as ops:
            wait_for_synthetic_worker(ops)
            names = {who: f"{who}-{run}" for who in ("a", "b")}
            keys = {who: create_key(ops, name, "client")["key"] for who, name in names.items()}
        running = Tenants(stack, keys, names)
        yield running
        for who in keys:  # leave no tenant secret behind in the shared Redis
            with running.as_(who) as client:
                client.delete(SECRET_PATH)


def secret_of(client: httpx.Client) -> str:
    response = client.get(SECRET_PATH)
    assert response.status_code == 200, response.text
    key: str = response.json()["key"]
    return key


def test_a_tenant_manages_its_own_secret_and_another_tenant_never_sees_it(
    tenants: Tenants,
) -> None:
    with tenants.as_("a") as a, tenants.as_("b") as b:
        default_a, default_b = secret_of(a), secret_of(b)  # derived, one per tenant
        assert len({default_a, default_b, WEBHOOK_SECRET}) == 3
        assert default_a == tenant_default_secret(WEBHOOK_SECRET, tenants.names["a"])
        own = new_webhook_secret()
        put = a.put(SECRET_PATH, json={"key": own})
        assert put.status_code == 200 and put.json() == {"key": own}
        assert secret_of(a) == own
        assert secret_of(b) == default_b
        rotated = a.post(f"{SECRET_PATH}/rotate")
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["key"]
        assert new.startswith("whsec_") and new != own and secret_of(a) == new
        Webhook(new)  # a secret the standardwebhooks library takes
        assert secret_of(b) == default_b
        assert a.delete(SECRET_PATH).status_code == 204
        assert secret_of(a) == default_a


@pytest.mark.parametrize(
    "body",
    [
        {"key": "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},  # no whsec_ prefix
        {"key": "whsec_c2hvcnQ="},  # 5 bytes
        {"key": "whsec_not base64!"},
        {"key": "whsec_" + "A" * 300},
        {"key": 42},
        {},
        {"key": new_webhook_secret(), "other": 1},
    ],
)
def test_a_bad_secret_is_a_422_naming_the_field(tenants: Tenants, body: dict[str, object]) -> None:
    with tenants.as_("a") as a:
        response = a.put(SECRET_PATH, json=body)
        assert response.status_code == 422, response.text
        fields = {f["field"] for f in response.json()["invalid_fields"]}
        assert fields & {"key", "other"}, response.text
        assert secret_of(a) != body.get("key"), "nothing was set"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", SECRET_PATH), ("PUT", SECRET_PATH), ("POST", f"{SECRET_PATH}/rotate"),
     ("DELETE", SECRET_PATH)],
)  # fmt: skip
def test_without_a_key_it_is_a_401(tenants: Tenants, method: str, path: str) -> None:
    response = httpx.request(method, tenants.stack.url + path, json={"key": new_webhook_secret()})
    assert response.status_code == 401
    assert "whsec_" not in response.text


def delivered(receiver: Receiver, path: str) -> tuple[bytes, dict[str, str]]:
    wait_until(lambda: receiver.at(path), 60, f"a delivery to {path}", 0.1)
    [request] = receiver.at(path)
    return request.body, request.headers


def test_deliveries_are_signed_with_the_tenants_own_secret_else_its_default(
    tenants: Tenants, receiver: Receiver
) -> None:
    own = new_webhook_secret()
    with tenants.as_("a") as a, tenants.as_("b") as b:
        assert a.put(SECRET_PATH, json={"key": own}).status_code == 200
        for client, path in ((a, "/a"), (b, "/b")):
            body = {"model": SYNTHETIC, "input": QUICK, "webhook": receiver.script(path, 200),
                    "webhook_events_filter": ["completed"]}  # fmt: skip
            assert client.post("/v1/predictions", json=body).status_code == 201
        a_body, a_headers = delivered(receiver, "/a")
        b_body, b_headers = delivered(receiver, "/b")
        assert a.delete(SECRET_PATH).status_code == 204

    assert Webhook(own).verify(a_body, a_headers)["status"] == "succeeded"
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(WEBHOOK_SECRET).verify(a_body, a_headers)
    b_default = tenant_default_secret(WEBHOOK_SECRET, tenants.names["b"])
    assert Webhook(b_default).verify(b_body, b_headers)["status"] == "succeeded"
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(WEBHOOK_SECRET).verify(b_body, b_headers)  # the global secret forges nothing
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(own).verify(b_body, b_headers)
    # The receiver fetches the output from the payload's link with no key at all.
    [link] = json.loads(a_body)["output"]
    assert httpx.get(link).status_code == 200
