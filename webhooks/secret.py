"""The webhook signing secret: from SDQ_WEBHOOK_SECRET, else generated once and kept in data_dir."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from sdq.settings import Settings

SECRET_FILE = "webhook_secret"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_secret(settings: Settings) -> str:
    """The configured secret, or the one in data_dir (created atomically, mode 0600, if absent)."""
    if settings.webhook_secret:
        return settings.webhook_secret
    path = Path(settings.data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(new_secret() + "\n")
    return path.read_text().strip()
