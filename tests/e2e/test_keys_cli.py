"""`sdq keys create|list|revoke` and the key every client command sends, as a user runs them: a
real `python -m cli` process against a real API started with SDQ_ADMIN_KEY, over loopback."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli.embedded_redis import EmbeddedRedis, free_port
from tests.helpers import Stack, run_cli, started_api, wait_until

ADMIN_KEY = "cli-test-bootstrap-admin-key-0123456789"
SECRET = re.compile(r"^sdq_[A-Za-z0-9_-]{43}$", re.MULTILINE)


@pytest.fixture(scope="module")
def keyed(
    redis_server: EmbeddedRedis, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The API alone, keys required (SDQ_ADMIN_KEY set)."""
    logs = tmp_path_factory.mktemp("logs")
    with started_api(redis_server.url, data_dir, logs, SDQ_ADMIN_KEY=ADMIN_KEY) as running:
        yield running


def sdq(url: str, *args: str, key: str | None = ADMIN_KEY) -> subprocess.CompletedProcess[str]:
    """`python -m cli ARGS` against `url`, with `key` in SDQ_API_KEY (None: no key at all)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDQ_")}
    env |= {"SDQ_URL": url, "COLUMNS": "200"} | ({"SDQ_API_KEY": key} if key else {})
    return run_cli(env, *args)


def new_key(url: str, name: str) -> str:
    """A client key's secret, made over the API with the bootstrap key."""
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    response = httpx.post(f"{url}/v1/admin/keys", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    secret: str = response.json()["key"]
    return secret


def status_with(url: str, secret: str) -> int:
    headers = {"Authorization": f"Bearer {secret}"}
    return httpx.get(f"{url}/v1/predictions", headers=headers, timeout=10).status_code


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with one line on stderr, nothing on stdout, no traceback."""
    assert result.returncode != 0 and result.stdout == "", result
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, (
        result.stderr
    )
    return result.stderr.strip()


def test_a_created_key_works_is_listed_without_its_secret_and_stops_working_when_revoked(
    keyed: Stack,
) -> None:
    name = f"alice-{secrets.token_hex(3)}"  # unique: the session's Redis is shared
    created = sdq(keyed.url, "keys", "create", name)
    assert created.returncode == 0, created.stderr
    [secret] = SECRET.findall(created.stdout)
    assert created.stdout == f"{secret}\n", "stdout holds the secret alone (for scripts)"
    assert "shown this one time only" in created.stderr
    assert status_with(keyed.url, secret) == 200

    listed = sdq(keyed.url, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    [row] = [line for line in listed.stdout.splitlines() if f" {name} " in line]
    key_id = row.split()[0]
    assert "client" in row
    assert secret not in listed.stdout and "sdq_" not in listed.stdout
    for column in ("id", "name", "role", "created", "last used"):
        assert column in listed.stdout

    revoked = sdq(keyed.url, "keys", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout == f"revoked client key {key_id} of '{name}'\n"
    wait_until(lambda: status_with(keyed.url, secret) == 401, 10, "the revoked key to be refused")
    assert key_id not in sdq(keyed.url, "keys", "list").stdout


def test_json_output_for_scripts_and_an_admin_role(keyed: Stack) -> None:
    created = sdq(keyed.url, "keys", "create", "ops", "--role", "admin", "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert (key["name"], key["role"]) == ("ops", "admin") and SECRET.fullmatch(key["key"])
    listed = json.loads(sdq(keyed.url, "keys", "list", "--json").stdout)
    assert {"id": key["id"], "name": "ops", "role": "admin"}.items() <= next(
        k for k in listed if k["id"] == key["id"]
    ).items()
    assert all("key" not in k for k in listed)
    # The new admin key manages keys too (and is sent from SDQ_API_KEY).
    revoked = sdq(keyed.url, "keys", "revoke", key["id"], "--json", key=key["key"])
    assert json.loads(revoked.stdout)["revoked"] is True, revoked.stderr


@pytest.mark.parametrize(
    ("args", "key", "message"),
    [
        (["keys", "list"], "wrong-admin-key-0123456789abcdef0123", "HTTP 401: unknown or revoked"),
        (["keys", "list"], None, "HTTP 401: no API key"),
        (["keys", "revoke", "nosuchkey"], ADMIN_KEY, "HTTP 404: no key nosuchkey"),
        (
            ["keys", "revoke", "bootstrap"],
            ADMIN_KEY,
            "HTTP 409: the bootstrap key is SDQ_ADMIN_KEY",
        ),
        (["keys", "create", "bad name"], ADMIN_KEY, "HTTP 422"),
    ],
)
def test_a_refused_key_command_is_one_line(
    keyed: Stack, args: list[str], key: str | None, message: str
) -> None:
    result = sdq(keyed.url, *args, key=key)
    assert result.returncode == 2
    assert message in one_line(result)


def test_a_missing_or_wrong_key_says_where_the_key_comes_from(keyed: Stack) -> None:
    line = one_line(sdq(keyed.url, "keys", "list", key=None))
    assert "SDQ_API_KEY" in line and "SDQ_ADMIN_KEY" in line


def test_a_client_key_cannot_manage_keys(keyed: Stack) -> None:
    line = one_line(sdq(keyed.url, "keys", "list", key=new_key(keyed.url, "carol")))
    assert "HTTP 403" in line and "needs an admin key" in line


def test_an_unreachable_server_is_one_line_exit_1() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = sdq(url, "keys", "list")
    assert result.returncode == 1
    assert f"cannot reach sdq at {url}" in one_line(result)


def test_keys_against_an_open_server_explain_that_keys_are_off(api: Stack) -> None:
    result = sdq(api.url, "keys", "create", "alice", key=None)
    assert result.returncode == 2
    line = one_line(result)
    assert "HTTP 409" in line and "set SDQ_ADMIN_KEY and restart" in line


def test_client_commands_send_the_key_from_the_environment(keyed: Stack) -> None:
    client = new_key(keyed.url, "dave")
    submitted = sdq(keyed.url, "submit", "x", "--model", "sdq/synthetic", "--no-wait", key=client)
    assert submitted.returncode == 0, submitted.stderr
    prediction_id = submitted.stdout.strip()
    mine = httpx.get(
        f"{keyed.url}/v1/predictions/{prediction_id}",
        headers={"Authorization": f"Bearer {client}"},
        timeout=10,
    )
    assert mine.status_code == 200, "the prediction belongs to the key that sent it"
    assert "HTTP 401" in one_line(sdq(keyed.url, "submit", "x", "--no-wait", key=None))
    shown = sdq(keyed.url, "scaling", "show", "sdq/tiny")  # SDQ_API_KEY: the admin key
    assert shown.returncode == 0 and "max_replicas" in shown.stdout, shown.stderr
    assert "HTTP 403" in one_line(sdq(keyed.url, "scaling", "show", "sdq/tiny", key=client))
