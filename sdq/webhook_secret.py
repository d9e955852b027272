"""Webhook signing secrets (Standard Webhooks `whsec_` + base64): the global one (from
SDQ_WEBHOOK_SECRET, else generated once and kept in data_dir), each tenant's default derived from
it, new ones, and the format check."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from sdq.api_keys import OPEN_TENANT
from sdq.settings import Settings

PREFIX = "whsec_"
SECRET_FILE = "webhook_secret"
MIN_BYTES = 24
MAX_BYTES = 64


def new_webhook_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_secret_problem(value: str) -> str | None:
    """Why `value` is not a usable secret (`whsec_` + base64 of 24 to 64 bytes), or None."""
    rule = f"must be {PREFIX} followed by the base64 of {MIN_BYTES} to {MAX_BYTES} random bytes"
    if not value.startswith(PREFIX) or len(value) > len(PREFIX) + 4 * MAX_BYTES // 3 + 4:
        return rule
    try:
        raw = base64.b64decode(value.removeprefix(PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return rule
    return None if MIN_BYTES <= len(raw) <= MAX_BYTES else rule


def webhook_secret(settings: Settings) -> str:
    """The global secret: the configured one, or the one in data_dir (created atomically, mode
    0600, if absent)."""
    if settings.webhook_secret:
        return settings.webhook_secret
    path = Path(settings.data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(new_webhook_secret() + "\n")
    return path.read_text().strip()


def tenant_default_secret(global_secret: str, tenant: str) -> str:
    """The secret a tenant's deliveries are signed with until it sets its own: derived from the
    global secret and the tenant's name (HMAC-SHA256), so no tenant learns a secret that signs
    another tenant's deliveries. The open tenant (no keys) is signed with the global one."""
    if tenant == OPEN_TENANT:
        return global_secret
    message = f"sdq tenant webhook secret\x00{tenant}".encode()
    digest = hmac.new(global_secret.encode(), message, hashlib.sha256).digest()
    return PREFIX + base64.b64encode(digest).decode()
