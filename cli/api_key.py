"""The API key client commands send: SDQ_API_KEY, else SDQ_ADMIN_KEY (never a command-line
option, which shell history and `ps` would keep)."""

from __future__ import annotations

import os
from collections.abc import Mapping

API_KEY_VARIABLES = ("SDQ_API_KEY", "SDQ_ADMIN_KEY")


def api_key_from(environ: Mapping[str, str]) -> str | None:
    """The first of API_KEY_VARIABLES that is set and not blank."""
    for name in API_KEY_VARIABLES:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def api_key() -> str | None:
    """The key from this process's environment (None: send none)."""
    return api_key_from(os.environ)


def bearer(key: str | None) -> dict[str, str]:
    """The Authorization header for `key`, or no header."""
    return {"Authorization": f"Bearer {key}"} if key else {}
