"""API keys and who holds them: roles, the key record, new secrets, their hashes (no I/O)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from sdq.scheduling import DEFAULT_PRIORITY, LEAST_URGENT, MOST_URGENT

KEY_PREFIX = "sdq_"
# What a key sent in `Authorization: Bearer` may be made of (RFC 6750's b64token); sdq_ keys are
# URL-safe base64, and SDQ_ADMIN_KEY is held to the same alphabet so that it can be sent at all.
KEY_ALPHABET = "A-Za-z0-9._~+/=-"
# A secret's random part: 32 bytes (256 bits), URL-safe base64 without padding (43 characters).
SECRET_BYTES = 32
# Key names double as tenant names: what the `tenant` filter and the records carry.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
# The tenant of every job while authentication is off: all callers share it.
OPEN_TENANT = "default"
BOOTSTRAP_KEY_ID = "bootstrap"
BOOTSTRAP_KEY_NAME = "admin"
# Names no stored key may take: a client key named so would share those predictions' tenant.
RESERVED_NAMES = (BOOTSTRAP_KEY_NAME, OPEN_TENANT)


# A key's most urgent priority: on the stored record and in the admin API's create request.
MaxPriority = Annotated[
    int | None,
    Field(
        ge=MOST_URGENT,
        le=LEAST_URGENT,
        description="The most urgent priority the key may ask for, 0 (most urgent) to 2 "
        f"(unset: {DEFAULT_PRIORITY} for client keys, {MOST_URGENT} for admin keys)",
    ),
]


class Role(StrEnum):
    CLIENT = "client"
    ADMIN = "admin"


class ApiKey(BaseModel):
    """A stored key without its secret: what `GET /v1/admin/keys` lists."""

    id: str
    name: str = Field(pattern=NAME_PATTERN)
    role: Role
    created_at: float
    last_used_at: float | None = None
    max_queued: int | None = Field(
        default=None, ge=1, description="Most of this key's jobs queued per model (unset: no quota)"
    )
    max_priority: MaxPriority = None

    @property
    def most_urgent_priority(self) -> int:
        """The most urgent priority the key may use: its own setting, else its role's."""
        if self.max_priority is not None:
            return self.max_priority
        return MOST_URGENT if self.role is Role.ADMIN else DEFAULT_PRIORITY

    @property
    def tenant(self) -> str:
        """Keys with the same name are one tenant: rotating a key keeps the predictions."""
        return self.name


class Principal(BaseModel):
    """Who made a request: the key's id, name, tenant and role (or everyone, when open)."""

    key_id: str | None
    name: str
    tenant: str
    role: Role
    max_queued: int | None = None  # the key's own queue quota per model
    max_priority: int = MOST_URGENT  # the most urgent priority the key may ask for

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_see(self, tenant: str) -> bool:
        return self.is_admin or tenant == self.tenant


# Authentication off: one identity, allowed everything (documented as such).
OPEN_PRINCIPAL = Principal(key_id=None, name="local", tenant=OPEN_TENANT, role=Role.ADMIN)


def is_key_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def secret_hash(secret: str) -> str:
    """What is stored of a secret. Secrets are 256 random bits, so one SHA-256 is enough (no
    password stretching): the hash cannot be reversed, and it is what lookups go by."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison, through the hashes (equal lengths, whatever was sent)."""
    return hmac.compare_digest(secret_hash(given), secret_hash(expected))
