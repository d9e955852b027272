"""The request id: the client's `X-Request-Id` when it is sane, else a new one."""

from __future__ import annotations

import re
import uuid

HEADER = "x-request-id"
# Sane: what request ids look like (UUIDs, ULIDs, `req-42`, trace ids), nothing that could forge
# a log line or a header.
_SANE = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")


def request_id_from(header: str | None) -> str:
    if header is not None and _SANE.fullmatch(header):
        return header
    return uuid.uuid4().hex
