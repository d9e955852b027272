"""A keyed stack for the access-control tests: an API started with SDQ_ADMIN_KEY, a fast
synthetic worker, and the keys an admin made over the API (alice, bob, ops, one revoked)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from cli.embedded_redis import free_port
from tests.helpers import Stack, process_env, start, started_api, stop, wait_until

# The bootstrap admin key (SDQ_ADMIN_KEY): 40 characters.
BOOTSTRAP_SECRET = "test-bootstrap-admin-key-0123456789abcde"
SYNTHETIC = "sdq/synthetic"
# The synthetic model first (the default of the A1111 and OpenAI dialects); sdq/tiny is listed
# but not served, so a tenant can switch its A1111 default model to it without running a job.
MODELS = f"{SYNTHETIC},sdq/tiny"
STEP_S = "0.05"  # a long job (150 steps) runs for seconds; a one-step job is quick
KEYED_ENV = {
    "SDQ_ADMIN_KEY": BOOTSTRAP_SECRET,
    "SDQ_MODELS": MODELS,
    "SDQ_SYNTHETIC_STEP_SECONDS": STEP_S,
}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@dataclass
class KeyedStack:
    """The running stack, and each key's secret and id by its holder's name."""

    stack: Stack
    secrets: dict[str, str]
    key_ids: dict[str, str]

    @property
    def url(self) -> str:
        return self.stack.url

    def http(self, secret: str | None = None) -> httpx.Client:
        headers = bearer(secret) if secret is not None else {}
        return httpx.Client(base_url=self.url, timeout=90, headers=headers)

    def as_(self, name: str) -> httpx.Client:
        """A client sending the named holder's key (`bootstrap`: SDQ_ADMIN_KEY)."""
        return self.http(BOOTSTRAP_SECRET if name == "bootstrap" else self.secrets[name])


def create_key(client: httpx.Client, name: str, role: str) -> dict[str, Any]:
    response = client.post("/v1/admin/keys", json={"name": name, "role": role})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def wait_for_synthetic_worker(client: httpx.Client, count: int = 1) -> None:
    wait_until(
        lambda: client.get(f"/v1/models/{SYNTHETIC}").json()["workers"] >= count,
        60,
        f"{count} synthetic worker(s) to report ready",
    )


@contextlib.contextmanager
def started_keyed_stack(
    redis_url: str, data_dir: Path, logs: Path, **env: str
) -> Iterator[KeyedStack]:
    """API (keys required) + one synthetic worker; keys alice and bob (clients), ops (admin) and
    revoked (a client key, revoked), all made with the bootstrap key over the API. `env`: more
    settings for the API and the worker."""
    with started_api(redis_url, data_dir, logs, **(KEYED_ENV | env)) as stack:
        stack.start_worker(SYNTHETIC)
        secrets: dict[str, str] = {}
        key_ids: dict[str, str] = {}
        with httpx.Client(base_url=stack.url, timeout=30, headers=bearer(BOOTSTRAP_SECRET)) as ops:
            wait_for_synthetic_worker(ops)
            for name, role in (("alice", "client"), ("bob", "client"), ("ops", "admin"),
                               ("revoked", "client")):  # fmt: skip
                created = create_key(ops, name, role)
                secrets[name], key_ids[name] = created["key"], created["id"]
            revoked = ops.delete(f"/v1/admin/keys/{key_ids['revoked']}")
            assert revoked.status_code == 200, revoked.text
        yield KeyedStack(stack, secrets, key_ids)


@contextlib.contextmanager
def second_api(stack: Stack) -> Iterator[str]:
    """Another API process on another port, same Redis and settings; yields its base URL."""
    port = free_port()
    env = process_env(stack.redis_url, stack.data_dir, port, **KEYED_ENV)
    process = start(["api"], env, stack.logs / "api-2.log")
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=10) as client:

            def ready() -> bool:
                try:
                    return client.get("/readyz").status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(ready, 60, "the second API to answer /readyz")
        yield url
    finally:
        stop(process)
