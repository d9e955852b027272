"""Who may read the metrics port of a worker, scaler or webhook sender: the token when one is set;
open only on loopback or with SDQ_AUTH=none; never open on a network address by default."""

from __future__ import annotations

import pytest

from sdq.metrics_access import MetricsAccess, bearer_token, may_read, metrics_access
from sdq.settings import Settings

TOKEN = "m" * 40
ADMIN = "a" * 40


@pytest.mark.parametrize(
    ("settings", "token", "refused"),
    [
        ({}, None, False),  # loopback, the default
        ({"metrics_host": "localhost"}, None, False),
        ({"metrics_host": "::1"}, None, False),
        ({"metrics_token": TOKEN}, TOKEN, False),
        ({"metrics_host": "0.0.0.0", "metrics_token": TOKEN}, TOKEN, False),
        ({"metrics_host": "0.0.0.0", "auth": "none"}, None, False),  # open on purpose
        ({"metrics_host": "0.0.0.0"}, None, True),
        ({"metrics_host": "0.0.0.0", "admin_key": ADMIN}, None, True),  # no admin key here
        ({"metrics_host": "::", "auth": "keys", "admin_key": ADMIN}, None, True),
        # a token set wins over SDQ_AUTH=none: set, it is required
        ({"metrics_host": "0.0.0.0", "auth": "none", "metrics_token": TOKEN}, TOKEN, False),
    ],
)
def test_the_token_is_required_when_set_and_an_open_endpoint_stays_on_loopback(
    settings: dict[str, object], token: str | None, refused: bool
) -> None:
    access = metrics_access(Settings(metrics_port=9464, **settings))  # type: ignore[arg-type]
    assert access.token == token
    assert (access.refusal is not None) == refused
    if refused:
        assert "SDQ_METRICS_TOKEN" in (access.refusal or "")


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("", None),
        ("Bearer abc", "abc"),
        ("bearer   abc ", "abc"),
        ("Bearer", None),
        ("Bearer ", None),
        ("Basic YTpi", None),
        ("Token abc", None),
        ("Bearer " + "x" * 2000, None),  # over the header limit
    ],
)
def test_only_a_bearer_token_is_read(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize(
    ("access", "header", "allowed"),
    [
        (MetricsAccess(None), None, True),
        (MetricsAccess(None), "Bearer anything", True),
        (MetricsAccess(TOKEN), None, False),
        (MetricsAccess(TOKEN), f"Bearer {TOKEN}", True),
        (MetricsAccess(TOKEN), f"Bearer {TOKEN}x", False),
        (MetricsAccess(TOKEN), f"Bearer {TOKEN[:-1]}", False),
        (MetricsAccess(TOKEN), f"Basic {TOKEN}", False),
    ],
)
def test_a_scrape_is_let_in_with_the_token_only(
    access: MetricsAccess, header: str | None, allowed: bool
) -> None:
    assert may_read(access, header) == allowed
