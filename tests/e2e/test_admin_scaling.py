"""Operators tune scaling live: admin API (admin keys only; changes recorded with the key's
name), `sdq scaling`, history, and KEDA's metrics endpoint."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.embedded_redis import EmbeddedRedis
from tests.access_fixtures import bearer
from tests.helpers import Stack, started_api, wait_terminal, wait_until
from tests.unit.test_keda_docs import documented_scaled_object

POLICY_URL = "/v1/admin/models/sdq/tiny/scaling"
ADMIN_KEY = "scaling-test-bootstrap-admin-key-012345"


@pytest.fixture(scope="module")
def stack(
    redis_server: EmbeddedRedis,
    data_dir: Path,
    tiny_model_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """API (keys required: SDQ_ADMIN_KEY) + one worker serving sdq/tiny."""
    logs = tmp_path_factory.mktemp("logs")
    with started_api(redis_server.url, data_dir, logs, SDQ_ADMIN_KEY=ADMIN_KEY) as running:
        running.start_worker()
        with httpx.Client(base_url=running.url, headers=bearer(ADMIN_KEY), timeout=30) as admin:
            wait_until(
                lambda: admin.get("/v1/models/sdq/tiny").json()["workers"] >= 1,
                120,
                "the sdq/tiny worker to report ready",
            )
        yield running


def new_key(stack: Stack, name: str, role: str) -> str:
    with httpx.Client(base_url=stack.url, headers=bearer(ADMIN_KEY), timeout=30) as admin:
        response = admin.post("/v1/admin/keys", json={"name": name, "role": role})
    assert response.status_code == 201, response.text
    secret: str = response.json()["key"]
    return secret


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    """Sends the bootstrap admin key (SDQ_ADMIN_KEY)."""
    with httpx.Client(base_url=stack.url, headers=bearer(ADMIN_KEY), timeout=90) as http:
        yield http


def test_policy_round_trip_and_history_name_the_admin_key(
    client: httpx.Client, stack: Stack
) -> None:
    name = f"alice-{secrets.token_hex(3)}"  # unique: the session's Redis is shared
    alice = bearer(new_key(stack, name, "admin"))
    policy = client.get(POLICY_URL).json()
    assert policy["min_replicas"] == 0 and policy["jobs_per_replica"] == 1
    changed = policy | {"max_replicas": 3, "idle_to_zero_s": 30}
    response = client.put(POLICY_URL, json=changed, headers=alice | {"X-Sdq-Actor": "mallory"})
    assert response.status_code == 200 and response.json() == changed
    assert client.get(POLICY_URL).json() == changed
    history = client.get("/v1/admin/scaling/events").json()["policy_changes"]
    assert history[0]["who"] == name and history[0]["model"] == "sdq/tiny"
    assert history[0]["key_id"].startswith("key_"), "which of the name's keys made the change"
    assert '"max_replicas":3' in history[0]["after"].replace(" ", "")


def test_only_admin_keys_change_the_policy(client: httpx.Client, stack: Stack) -> None:
    before = client.get(POLICY_URL).json()
    changed = before | {"max_replicas": 9}
    with httpx.Client(base_url=stack.url, timeout=30) as anyone:
        client_key = bearer(new_key(stack, "bob", "client"))
        forbidden = anyone.put(POLICY_URL, json=changed, headers=client_key)
        assert forbidden.status_code == 403, forbidden.text
        assert "admin key" in forbidden.json()["detail"]
        assert anyone.get(POLICY_URL, headers=client_key).status_code == 403
        unauthenticated = anyone.put(POLICY_URL, json=changed)
        assert unauthenticated.status_code == 401, unauthenticated.text
        assert unauthenticated.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get(POLICY_URL).json() == before


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"min_replicas": 5, "max_replicas": 2},
            "policy",
            "min_replicas (5) exceeds max_replicas (2)",
        ),
        ({"max_replicas": -1}, "max_replicas", "greater than or equal to 0"),
        ({"jobs_per_replica": 0}, "jobs_per_replica", "greater than or equal to 1"),
        ({"scale_down_delay_s": "soon"}, "scale_down_delay_s", "valid number"),
        ({"fallback_replicas": 99}, "policy", "fallback_replicas must lie between"),
        ({"warp": 9}, "warp", "is not a scaling policy knob"),
    ],
)
def test_invalid_policies_are_422_and_change_nothing(
    client: httpx.Client, change: dict[str, Any], field: str, message: str
) -> None:
    before = client.get(POLICY_URL).json()
    response = client.put(POLICY_URL, json=before | change)
    assert response.status_code == 422, response.text
    fields = {f["field"]: f["description"] for f in response.json()["invalid_fields"]}
    assert message in fields[field]
    assert client.get(POLICY_URL).json() == before


def test_unknown_model_is_404(client: httpx.Client) -> None:
    assert client.get("/v1/admin/models/a/b/scaling").status_code == 404
    assert client.get("/v1/scaling/metrics/a/b").status_code == 404


def test_cli_show_and_set(stack: Stack, client: httpx.Client) -> None:
    """The CLI sends SDQ_API_KEY, else SDQ_ADMIN_KEY (here: the bootstrap key, named admin)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDQ_")}
    env |= {"SDQ_URL": stack.url, "SDQ_ADMIN_KEY": ADMIN_KEY, "COLUMNS": "120"}

    def sdq(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli", "scaling", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    done = sdq("set", "sdq/tiny", "max_replicas=6", "max_queue_wait_s=4.5")
    assert done.returncode == 0, done.stderr
    history = client.get("/v1/admin/scaling/events").json()["policy_changes"]
    assert history[0]["who"] == "admin"
    shown = sdq("show", "sdq/tiny")
    assert "max_replicas" in shown.stdout and "6" in shown.stdout and "4.5" in shown.stdout
    refused = sdq("set", "sdq/tiny", "min_replicas=9")
    assert refused.returncode == 2 and "exceeds max_replicas" in refused.stderr
    assert client.get(POLICY_URL).json()["max_replicas"] == 6


def test_keda_metrics_count_queued_and_in_flight(client: httpx.Client) -> None:
    long = {
        "prompt": "x",
        "width": 256,
        "height": 256,
        "num_inference_steps": 150,
        "guidance_scale": 1,
    }
    running = client.post("/v1/predictions", json={"model": "sdq/tiny", "input": long}).json()
    queued = client.post("/v1/predictions", json={"model": "sdq/tiny", "input": long}).json()

    def claimed() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get("/v1/scaling/metrics/sdq/tiny").json()
        return body if body["in_flight"] == 1 else None

    metrics = wait_until(claimed, 60, "the worker to take the first job")
    assert (metrics["queued"], metrics["in_flight"], metrics["work"]) == (1, 1, 2)
    assert metrics["workers"] == 1 and metrics["desired"] is None  # no sdq scaler in this stack
    [trigger] = documented_scaled_object()["spec"]["triggers"]
    assert metrics[trigger["metadata"]["valueLocation"]] == 2, "docs/keda.md reads `work`"
    model = client.get("/v1/models/sdq/tiny").json()
    assert model["queued"] == 1 and model["desired"] is None
    for prediction in (queued, running):
        client.post(f"/v1/predictions/{prediction['id']}/cancel")
        wait_terminal(client, prediction["id"])
    assert client.get("/v1/scaling/metrics/sdq/tiny").json()["work"] == 0
