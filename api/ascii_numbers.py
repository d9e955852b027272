"""Whole numbers as clients must write them: ASCII digits only, of a bounded length."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]+")


def ascii_int(text: str, max_digits: int) -> int | None:
    """The value of `text` when it is 1 to `max_digits` ASCII digits, else None.

    Unlike `str.isdigit()` + `int()`, this refuses "²" (which `int()` rejects), Arabic-Indic
    digits (which `int()` reads), signs, spaces, underscores, and strings long enough to reach
    `int()`'s digit limit."""
    if len(text) > max_digits or not _DIGITS.fullmatch(text):
        return None
    return int(text)
