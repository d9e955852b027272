"""Parsing the `Prefer: wait[=N]` request header (RFC 7240), as Replicate's API uses it."""

from __future__ import annotations

from api.ascii_numbers import ascii_int
from sdq.inputs import InvalidField, InvalidInput


def parse_prefer_wait(header: str | None, max_wait_s: int) -> int | None:
    """Seconds to hold the response, or None when the client did not ask to wait."""
    if not header:
        return None
    for preference in header.split(","):
        name, _, value = preference.strip().partition("=")
        if name.strip().lower() != "wait":
            continue
        value = value.strip().strip('"')
        if not value:
            return max_wait_s
        seconds = ascii_int(value, max_digits=6)
        if seconds is None or not 1 <= seconds <= max_wait_s:
            raise InvalidInput(
                [InvalidField("Prefer", f"wait must be an integer from 1 to {max_wait_s} seconds")]
            )
        return seconds
    return None
