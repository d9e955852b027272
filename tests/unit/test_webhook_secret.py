"""The format a tenant's own webhook secret must have (Standard Webhooks `whsec_`)."""

from __future__ import annotations

import pytest

from sdq.api_keys import OPEN_TENANT
from sdq.webhook_secret import new_webhook_secret, tenant_default_secret, webhook_secret_problem


@pytest.mark.parametrize(
    ("secret", "ok"),
    [
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", True),  # 24 bytes
        (new_webhook_secret(), True),  # 32 bytes
        ("whsec_" + "AAAA" * 21 + "AA==", True),  # 64 bytes
        ("whsec_" + "A" * 88, False),  # 66 bytes
        ("whsec_" + "AAAA" * 7 + "AA==", False),  # 22 bytes
        ("whsec_" + "AAAA" * 22 + "AA==", False),  # 67 bytes
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", False),  # no prefix
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", False),  # not base64 (length)
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa!w", False),
        ("whsec_", False),
        ("", False),
    ],
)
def test_webhook_secret_format(secret: str, ok: bool) -> None:
    assert (webhook_secret_problem(secret) is None) is ok


def test_each_tenant_has_a_default_of_its_own_and_the_open_tenant_the_global_one() -> None:
    global_secret = new_webhook_secret()
    alice = tenant_default_secret(global_secret, "alice")
    assert alice == tenant_default_secret(global_secret, "alice"), "stable"
    assert alice not in (global_secret, tenant_default_secret(global_secret, "bob"))
    assert alice != tenant_default_secret(new_webhook_secret(), "alice")
    assert webhook_secret_problem(alice) is None
    assert tenant_default_secret(global_secret, OPEN_TENANT) == global_secret
