"""Start-up refuses an open API on a network address: `sdq api` and `sdq up` say so in one line
naming SDQ_ADMIN_KEY and SDQ_AUTH=none and exit 1 before starting anything; with either set
they start (open, or requiring keys)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cli.embedded_redis import free_port
from tests.helpers import REPO, process_env, started_api

ADMIN_KEY = "startup-test-bootstrap-admin-key-01234567"
NETWORK = "0.0.0.0"  # every address; the tests still talk to it over loopback only


def run_sdq(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=env | {"PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def without_access_settings(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in ("SDQ_ADMIN_KEY", "SDQ_AUTH")}


def assert_refused(result: subprocess.CompletedProcess[str]) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "SDQ_ADMIN_KEY" in output and "SDQ_AUTH=none" in output, output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1, output


def test_sdq_api_on_a_network_address_without_a_key_refuses_to_start(
    redis_url: str, tmp_path: Path
) -> None:
    env = process_env(redis_url, tmp_path, free_port(), SDQ_HOST=NETWORK)
    assert_refused(run_sdq(["api"], without_access_settings(env)))


def test_sdq_up_on_a_network_address_without_a_key_refuses_before_starting_redis(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDQ_")}
    data_dir = tmp_path / "data"
    args = ["up", "--host", NETWORK, "--port", str(free_port()), "--data-dir", str(data_dir)]
    result = run_sdq(args, env)
    assert_refused(result)
    assert "sdq is up" not in result.stderr
    assert not (data_dir / "redis").exists() and not (data_dir / "logs").exists()


@pytest.mark.parametrize(
    ("access", "keys_required"),
    [({"SDQ_AUTH": "none"}, False), ({"SDQ_ADMIN_KEY": ADMIN_KEY}, True)],
    ids=["auth-none-runs-open", "admin-key-requires-keys"],
)
def test_sdq_api_on_a_network_address_starts_with_a_key_or_the_explicit_opt_out(
    redis_url: str, tmp_path: Path, access: dict[str, str], keys_required: bool
) -> None:
    with (
        started_api(redis_url, tmp_path, tmp_path, SDQ_HOST=NETWORK, **access) as api,
        httpx.Client(base_url=api.url, timeout=30) as client,  # no key of its own
    ):
        anonymous = client.get("/v1/predictions")
        assert anonymous.status_code == (401 if keys_required else 200), anonymous.text
        if keys_required:
            keyed = {"Authorization": f"Bearer {ADMIN_KEY}"}
            assert client.get("/v1/predictions", headers=keyed).status_code == 200
            assert client.get("/healthz").status_code == 200, "probes stay open"
