"""Parsing Replicate's `Cancel-After` request header: a Go-style duration, in bounds, as seconds."""

from __future__ import annotations

import re

from sdq.inputs import InvalidField, InvalidInput

MIN_CANCEL_AFTER_S = 0.1
MAX_CANCEL_AFTER_S = 24 * 3600.0
MAX_HEADER_CHARS = 64

_UNIT_S = {"ms": (1, 1000), "s": (1, 1), "m": (60, 1), "h": (3600, 1)}  # (times, per)
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_PART = re.compile(rf"({_NUMBER})(ms|h|m|s)")
_DURATION = re.compile(rf"(?:{_NUMBER}(?:ms|h|m|s))+")
_BARE_SECONDS = re.compile(_NUMBER)

FORMAT = (
    "a duration such as 30s, 5m, 1h30m or 500ms (units ms, s, m, h; a bare number is seconds), "
    f"from {MIN_CANCEL_AFTER_S * 1000:g}ms to {MAX_CANCEL_AFTER_S / 3600:g}h"
)


def _invalid() -> InvalidInput:
    return InvalidInput([InvalidField("Cancel-After", f"must be {FORMAT}")])


def parse_cancel_after(header: str | None) -> float | None:
    """Seconds from submission to the job's deadline, or None when the header is absent."""
    if header is None:
        return None
    text = header.strip()
    if len(text) > MAX_HEADER_CHARS:
        raise _invalid()
    if _BARE_SECONDS.fullmatch(text):
        seconds = float(text)
    elif _DURATION.fullmatch(text):
        seconds = sum(
            float(number) * _UNIT_S[unit][0] / _UNIT_S[unit][1]
            for number, unit in _PART.findall(text)
        )
    else:
        raise _invalid()
    if not MIN_CANCEL_AFTER_S <= seconds <= MAX_CANCEL_AFTER_S:
        raise _invalid()
    return seconds
