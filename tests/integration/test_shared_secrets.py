"""The secrets processes share through Redis: the link-signing key (created once, by whoever
needs it first) and tenants' own webhook secrets (else the global one), on a real Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from pydantic import SecretStr

from sdq.settings import Settings
from sdq.store import redis_keys as keys
from sdq.store.link_secret import REFRESH_S, LinkSecret, read_or_create_link_secret
from sdq.store.ops import OpRunner
from sdq.store.webhook_secrets import delete_tenant_webhook_secret, set_tenant_webhook_secret
from sdq.webhook_secret import new_webhook_secret, tenant_default_secret
from webhooks.secret import TenantSecrets

GLOBAL = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def store(redis_client: redis.Redis) -> OpRunner:
    return OpRunner(redis_client)


def test_the_first_reader_creates_the_link_secret_and_everyone_reads_the_same(
    store: OpRunner, redis_client: redis.Redis
) -> None:
    first = store.run(read_or_create_link_secret())
    assert len(first) >= 32
    assert store.run(read_or_create_link_secret()) == first
    assert redis_client.ttl(keys.link_secret()) == -1, "kept without expiry"


def test_a_held_link_secret_is_reread_after_a_while(tmp_path: Path) -> None:
    held = LinkSecret(Settings(data_dir=tmp_path))
    assert held.held(0.0) is None
    held.keep(b"k", 0.0)
    assert held.held(REFRESH_S - 1) == b"k"
    assert held.held(REFRESH_S) is None
    assert not held.may_recheck(0.5) and held.may_recheck(1.0)


def test_a_configured_link_secret_is_used_as_is(tmp_path: Path) -> None:
    configured = "configured-link-secret-of-32-chars"
    held = LinkSecret(Settings(data_dir=tmp_path, link_secret=SecretStr(configured)))
    assert held.held(0.0) == configured.encode() and not held.may_recheck(1e9)


def test_deliveries_take_the_tenants_own_secret_else_its_derived_default(
    store: OpRunner, tmp_path: Path
) -> None:
    own = new_webhook_secret()
    store.run(set_tenant_webhook_secret("alice", own))
    secrets = TenantSecrets(Settings(data_dir=tmp_path, webhook_secret=GLOBAL), store)
    assert secrets.for_tenant("alice") == own
    assert secrets.for_tenant("bob") == tenant_default_secret(GLOBAL, "bob") != GLOBAL
    assert secrets.for_tenant("default") == GLOBAL, "without keys: the global secret"
    assert store.run(delete_tenant_webhook_secret("alice"))
    assert secrets.for_tenant("alice") == own, "held for a few seconds"
    unheld = TenantSecrets(Settings(data_dir=tmp_path, webhook_secret=GLOBAL), store, hold_s=0)
    assert unheld.for_tenant("alice") == tenant_default_secret(GLOBAL, "alice")
