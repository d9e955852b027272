"""The `Prefer: wait[=N]` header."""

from __future__ import annotations

import pytest

from api.native.prefer import parse_prefer_wait
from sdq.inputs import InvalidInput


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("respond-async", None),
        ("wait", 60),
        ("wait=5", 5),
        ("wait=60", 60),
        ("respond-async, wait=10", 10),
        ('wait="3"', 3),
    ],
)
def test_accepted(header: str | None, expected: int | None) -> None:
    assert parse_prefer_wait(header, 60) == expected


@pytest.mark.parametrize("header", ["wait=0", "wait=61", "wait=abc", "wait=-1"])
def test_rejected_names_the_limit(header: str) -> None:
    with pytest.raises(InvalidInput, match="from 1 to 60 seconds"):
        parse_prefer_wait(header, 60)
