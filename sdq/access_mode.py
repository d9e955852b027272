"""Whether the API requires keys, runs open, or must refuse to start (a pure decision)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sdq.settings import Settings

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class AccessRefused(Exception):
    """Starting would put an open API on a network address; the message says what to set."""


@dataclass(frozen=True)
class AccessMode:
    keys_required: bool
    notice: str  # one line for start-up: how the API is protected


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def access_mode(settings: Settings) -> AccessMode:
    """Keys when SDQ_ADMIN_KEY is set (unless SDQ_AUTH=none); open on loopback; else refuse."""
    where = f"{settings.host}:{settings.port}"
    if settings.auth == "none":
        return AccessMode(
            False,
            f"authentication is off (SDQ_AUTH=none): anyone who reaches {where} can use the "
            "API, read every prediction and change the scaling policy",
        )
    if settings.admin_key is not None:
        return AccessMode(True, "authentication is on: every call needs an API key")
    if settings.auth == "keys":
        raise AccessRefused("SDQ_AUTH=keys needs SDQ_ADMIN_KEY (at least 32 characters)")
    if is_loopback(settings.host):
        return AccessMode(
            False,
            f"authentication is off: the API listens on {where} (this machine only) and every "
            "caller shares one identity; set SDQ_ADMIN_KEY to require keys",
        )
    raise AccessRefused(
        f"refusing to serve {where} without authentication: set SDQ_ADMIN_KEY (a secret of at "
        "least 32 characters, e.g. `openssl rand -hex 32`) to require API keys, or "
        "SDQ_AUTH=none to run open on purpose"
    )
