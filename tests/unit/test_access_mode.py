"""Whether the API requires keys, runs open or refuses to start, over (host, admin key, SDQ_AUTH);
and what `sdq up` derives from it: the Host allowlist its API gets, the key its commands send."""

from __future__ import annotations

import httpx
import pytest

from cli.api_key import api_key_from
from cli.client import BearerToOwnServer
from cli.stack import child_env
from sdq.access_mode import AccessRefused, access_mode, allowed_hosts
from sdq.settings import Settings

KEY = "k" * 32
LOOPBACK = ["localhost", "127.0.0.1", "::1"]
KEYS = "keys"  # keys required
OPEN = "open"  # runs open
REFUSED = "refused"  # refuses to start


@pytest.mark.parametrize(
    ("host", "admin_key", "auth", "expected"),
    [
        ("127.0.0.1", None, "auto", OPEN),
        ("localhost", None, "auto", OPEN),
        ("::1", None, "auto", OPEN),
        ("127.0.0.2", None, "auto", OPEN),
        ("0.0.0.0", None, "auto", REFUSED),
        ("::", None, "auto", REFUSED),
        ("192.168.1.20", None, "auto", REFUSED),
        ("sdq.example.com", None, "auto", REFUSED),
        ("127.0.0.1", KEY, "auto", KEYS),
        ("0.0.0.0", KEY, "auto", KEYS),
        ("0.0.0.0", None, "none", OPEN),
        ("0.0.0.0", KEY, "none", REFUSED),  # contradictory: refused rather than silently open
        ("127.0.0.1", None, "keys", REFUSED),
        ("0.0.0.0", KEY, "keys", KEYS),
    ],
)
def test_access_mode_over_host_key_and_auth(
    host: str, admin_key: str | None, auth: str, expected: str
) -> None:
    settings = Settings(host=host, admin_key=admin_key, auth=auth)
    if expected == REFUSED:
        with pytest.raises(AccessRefused, match="SDQ_ADMIN_KEY"):
            access_mode(settings)
        return
    mode = access_mode(settings)
    assert mode.keys_required is (expected == KEYS)
    assert ("authentication is on" in mode.notice) is (expected == KEYS), mode.notice


def test_refusing_a_network_address_names_the_key_and_the_opt_out() -> None:
    with pytest.raises(AccessRefused) as refused:
        access_mode(Settings(host="0.0.0.0"))
    assert "SDQ_ADMIN_KEY" in str(refused.value) and "SDQ_AUTH=none" in str(refused.value)


def test_open_on_loopback_says_so_and_how_to_require_keys() -> None:
    notice = access_mode(Settings(host="127.0.0.1")).notice
    assert notice.startswith("authentication is off") and "set SDQ_ADMIN_KEY" in notice


@pytest.mark.parametrize(
    ("settings", "hosts"),
    [
        ({"host": "127.0.0.1"}, LOOPBACK),
        ({"host": "localhost"}, LOOPBACK),
        ({"host": "127.0.0.2"}, [*LOOPBACK, "127.0.0.2"]),
        ({"host": "127.0.0.1", "public_url": "http://sdq.test:8080"}, [*LOOPBACK, "sdq.test"]),
        ({"host": "0.0.0.0", "admin_key": KEY}, []),
        ({"host": "127.0.0.1", "allowed_hosts": "sdq.test,*.sdq.test"}, ["sdq.test", "*.sdq.test"]),
        ({"host": "127.0.0.1", "allowed_hosts": ""}, []),  # set empty on purpose: any
    ],
)
def test_sdq_up_gives_its_api_the_loopback_names_unless_told_otherwise(
    settings: dict[str, str], hosts: list[str]
) -> None:
    chosen = Settings(**settings)  # type: ignore[arg-type]
    assert allowed_hosts(chosen) == hosts
    passed = child_env(chosen, "redis://127.0.0.1:1")["SDQ_ALLOWED_HOSTS"]
    assert Settings(allowed_hosts=passed).allowed_hosts == hosts


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({}, None),
        ({"SDQ_API_KEY": "sdq_client"}, "sdq_client"),
        ({"SDQ_ADMIN_KEY": KEY}, KEY),
        ({"SDQ_API_KEY": "sdq_client", "SDQ_ADMIN_KEY": KEY}, "sdq_client"),
        ({"SDQ_API_KEY": " ", "SDQ_ADMIN_KEY": KEY}, KEY),
    ],
)
def test_commands_send_sdq_api_key_else_sdq_admin_key(
    environ: dict[str, str], key: str | None
) -> None:
    assert api_key_from(environ) == key


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("http://127.0.0.1:7860/v1/predictions", True),
        ("http://127.0.0.1:7860/v1/files/x/out-0.png?exp=1&sig=s", True),
        ("http://127.0.0.1:7861/v1/predictions", False),  # another port: another server
        ("https://127.0.0.1:7860/v1/predictions", False),
        ("https://bucket.s3.amazonaws.com/x/out-0.png?X-Amz-Signature=s", False),  # presigned
    ],
)
def test_the_key_goes_only_to_sdqs_own_address(url: str, sent: bool) -> None:
    auth = BearerToOwnServer("http://127.0.0.1:7860", "sdq_secret")
    request = next(auth.auth_flow(httpx.Request("GET", url)))
    assert (request.headers.get("Authorization") == "Bearer sdq_secret") is sent
