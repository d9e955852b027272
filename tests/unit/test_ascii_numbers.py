"""Numbers read from headers, query strings and sizes: ASCII digits only, of a bounded length.

`str.isdigit()` is true for "²" and for Arabic-Indic digits, which `int()` refuses or reads;
a 5000-digit string is past `int()`'s limit. Each must be a clear 4xx naming the field, never a
500."""

from __future__ import annotations

import pytest

from api.ascii_numbers import ascii_int
from api.native.prefer import parse_prefer_wait
from api.openai_images.shapes import parse_size
from sdq.inputs import InvalidInput

SUPERSCRIPT_TWO = "\u00b2"  # isdigit() but not a decimal digit: int() raises
ARABIC_ONE = "\u0661"  # a decimal digit int() reads, but not one a client should send


@pytest.mark.parametrize(
    ("text", "max_digits", "expected"),
    [
        ("0", 3, 0),
        ("7", 3, 7),
        ("007", 3, 7),
        ("999", 3, 999),
        ("1000", 3, None),
        ("", 3, None),
        (" 1", 3, None),
        ("1 ", 3, None),
        ("+1", 3, None),
        ("-1", 3, None),
        ("1_0", 3, None),
        ("1.0", 3, None),
        ("1\n", 3, None),
        (SUPERSCRIPT_TWO, 3, None),
        (ARABIC_ONE, 3, None),
        ("9" * 5000, 20, None),
    ],
)
def test_ascii_int(text: str, max_digits: int, expected: int | None) -> None:
    assert ascii_int(text, max_digits) == expected


@pytest.mark.parametrize(
    "header",
    [f"wait={SUPERSCRIPT_TWO}", f"wait={ARABIC_ONE}", "wait=" + "9" * 5000, "wait=1_0", "wait=+5"],
)
def test_prefer_wait_takes_ascii_digits_only(header: str) -> None:
    with pytest.raises(InvalidInput, match="from 1 to 60 seconds"):
        parse_prefer_wait(header, 60)


@pytest.mark.parametrize(
    "size",
    [f"{SUPERSCRIPT_TWO}x64", f"64x{SUPERSCRIPT_TWO}", f"{ARABIC_ONE}28x64", "9" * 5000 + "x64"],
)
def test_openai_size_takes_ascii_digits_only(size: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_size(size, (512, 512))
    [field] = caught.value.fields
    assert field.field == "size" and "WIDTHxHEIGHT" in field.description
    assert len(field.description) < 200, "a huge value is not echoed whole"


@pytest.mark.parametrize(
    ("size", "expected"),
    [(None, (512, 512)), ("auto", (512, 512)), ("64x72", (64, 72)), ("99999999X8", (99999999, 8))],
)
def test_openai_size_parses(size: str | None, expected: tuple[int, int]) -> None:
    """Out-of-range sizes parse; the model's limits are checked (and named) afterwards."""
    assert parse_size(size, (512, 512)) == expected
