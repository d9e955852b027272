"""Whether the API requires keys, runs open, or must refuse to start (a pure decision)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

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
    if settings.auth == "none" and settings.admin_key is not None:
        raise AccessRefused(
            "SDQ_AUTH=none and SDQ_ADMIN_KEY are both set: unset one (none would run the API "
            "open and ignore the key)"
        )
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


def allowed_hosts(settings: Settings) -> list[str]:
    """The Host names the API answers to: SDQ_ALLOWED_HOSTS when set (even empty: any); else, on
    a loopback address, the loopback names (and SDQ_PUBLIC_URL's), so that a web page cannot
    reach the API through a name it controls (DNS rebinding); else any."""
    if "allowed_hosts" in settings.model_fields_set:
        return settings.allowed_hosts
    if not is_loopback(settings.host):
        return []
    public = urlsplit(settings.public_url).hostname if settings.public_url else None
    names = [*LOOPBACK_NAMES, settings.host.strip("[]"), public]
    return list(dict.fromkeys(name for name in names if name))
