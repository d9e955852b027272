"""Webhook targets that embed or are internal addresses: 422 on `webhook` through the real API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cli.embedded_redis import EmbeddedRedis, free_port
from tests.helpers import Stack, print_logs, process_env

SMALL = {"prompt": "hook", "width": 64, "height": 64, "num_inference_steps": 4}

# Refused whatever SDQ_WEBHOOK_ALLOW_PRIVATE says: link-local, the metadata addresses, and the
# IPv6 forms that embed them.
ALWAYS_REFUSED = [
    ("http://169.254.169.254/latest/meta-data/", "the cloud metadata address"),
    ("http://169.254.170.2/v2/credentials", "metadata"),
    ("http://169.254.1.1/", "a link-local address"),
    ("http://[fe80::1]/", "a link-local address"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "the AWS IPv6 metadata address"),
    ("http://100.100.100.200/latest/meta-data/", "the Alibaba Cloud metadata address"),
    ("http://[::ffff:169.254.169.254]/", "IPv4-mapped address embedding 169.254.169.254"),
    ("http://[2002:a9fe:a9fe::]/", "6to4 address embedding 169.254.169.254"),
    ("http://[64:ff9b::a9fe:a9fe]/", "NAT64 address embedding 169.254.169.254"),
    ("http://[2001:0:5db8:d822::5601:5601]/", "Teredo address embedding client 169.254.169.254"),
    ("http://[::169.254.169.254]/", "IPv4-compatible address embedding 169.254.169.254"),
]

# Refused while private targets are refused (the default outside `sdq up`).
REFUSED_WHEN_STRICT = [
    ("http://[2002:7f00:1::]/", "6to4 address embedding 127.0.0.1: a loopback address"),
    ("http://[64:ff9b::7f00:1]/", "NAT64 address embedding 127.0.0.1: a loopback address"),
    ("http://[2001:0:5db8:d822::80ff:fffe]/", "Teredo address embedding client 127.0.0.1"),
    ("http://[::127.0.0.1]/", "IPv4-compatible address embedding 127.0.0.1"),
]


def own_db(redis_server: EmbeddedRedis) -> str:
    """Redis db 9: keeps the one accepted job away from other tests' queues."""
    return redis_server.url.rsplit("/", 1)[0] + "/9"


def api_env(redis_url: str, data_dir: Path, port: int, private: str) -> dict[str, str]:
    # The `stack` fixture's env (process_env) allows private targets, as `sdq up` does; the strict
    # API overrides it.
    extra = {} if private == "true" else {"SDQ_WEBHOOK_ALLOW_PRIVATE": private}
    env = process_env(redis_url, data_dir, port, **extra)
    assert env["SDQ_WEBHOOK_ALLOW_PRIVATE"] == private
    return env


@dataclass(frozen=True)
class Api:
    """A running API process and whether it allows private webhook targets."""

    client: httpx.Client
    allow_private: bool


@pytest.fixture(scope="module", params=["false", "true"], ids=["strict", "allow-private"])
def api(
    request: pytest.FixtureRequest,
    redis_server: EmbeddedRedis,
    data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    port, logs = free_port(), tmp_path_factory.mktemp("logs")
    redis_url = own_db(redis_server)
    env = api_env(redis_url, data_dir, port, request.param)
    running = Stack(redis_url, data_dir, port, logs, env)
    try:
        running.start_api()
        with running.http() as client:
            yield Api(client, allow_private=request.param == "true")
    except BaseException:
        print_logs(logs)
        raise
    finally:
        running.stop_all()


def submit(client: httpx.Client, webhook: str) -> httpx.Response:
    body = {"model": "sdq/tiny", "input": SMALL, "webhook": webhook}
    return client.post("/v1/predictions", json=body)


def assert_refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 422, response.text
    [field] = response.json()["invalid_fields"]
    assert field["field"] == "webhook"
    assert reason in field["description"], field


@pytest.mark.parametrize(("url", "reason"), ALWAYS_REFUSED)
def test_link_local_and_metadata_targets_are_refused_in_both_modes(
    api: Api, url: str, reason: str
) -> None:
    assert_refused(submit(api.client, url), reason)


def test_embedded_loopback_is_refused_only_while_private_targets_are(api: Api) -> None:
    if not api.allow_private:
        for url, reason in REFUSED_WHEN_STRICT:
            assert_refused(submit(api.client, url), reason)
    else:  # allowed, as 127.0.0.1 is: one job is created (and canceled) to show it
        response = submit(api.client, "http://[2002:7f00:1::]/")
        assert response.status_code == 201, response.text
        api.client.post(f"/v1/predictions/{response.json()['id']}/cancel").raise_for_status()
