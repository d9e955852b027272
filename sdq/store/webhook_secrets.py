"""Tenants' own webhook signing secrets in Redis (absent: the global secret signs)."""

from __future__ import annotations

from typing import Any

from sdq.store import redis_keys as keys
from sdq.store.ops import Op


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def tenant_webhook_secret(tenant: str) -> Op[str | None]:
    """The tenant's own secret, or None when it has none."""
    return Op(keys=(), args=("GET", keys.tenant_webhook_secret(tenant)), decode=_text)


def set_tenant_webhook_secret(tenant: str, secret: str) -> Op[bool]:
    return Op(keys=(), args=("SET", keys.tenant_webhook_secret(tenant), secret), decode=bool)


def delete_tenant_webhook_secret(tenant: str) -> Op[bool]:
    """Back to the global secret; True when the tenant had its own."""
    return Op(keys=(), args=("DEL", keys.tenant_webhook_secret(tenant)), decode=bool)
