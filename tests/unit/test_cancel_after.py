"""The `Cancel-After` header: Go-style durations read as seconds, bounds checked, else 422."""

from __future__ import annotations

import pytest

from api.native.cancel_after import (
    MAX_CANCEL_AFTER_S,
    MIN_CANCEL_AFTER_S,
    parse_cancel_after,
)
from sdq.inputs import InvalidInput
from worker.progress import format_duration


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("90s", 90.0),
        ("1m30s", 90.0),
        ("500ms", 0.5),
        ("100ms", MIN_CANCEL_AFTER_S),
        ("1s500ms", 1.5),
        ("1.5h", 5400.0),
        (".5s", 0.5),
        ("2h30m15s", 9015.0),
        ("24h", MAX_CANCEL_AFTER_S),
        ("45", 45.0),  # a bare number is seconds, as Replicate reads it
        ("2.5", 2.5),
        ("  30s ", 30.0),
    ],
)
def test_durations_read_as_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_cancel_after(header) == seconds


@pytest.mark.parametrize(
    "header",
    [
        "",
        " ",
        "99ms",  # under the minimum
        "0s",
        "0",
        "24h1s",  # over the maximum
        "2d",  # no day unit
        "30 s",
        "30S",
        "-5s",
        "+5s",
        "s",
        "1h30",
        "1e3s",
        "٣s",  # a non-ASCII digit
        "inf",
        "nan",
        "1" * 70 + "s",
        "30s,5m",
    ],
)
def test_bad_durations_are_refused_naming_the_header_the_format_and_the_bounds(
    header: str,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_cancel_after(header)
    [field] = refused.value.fields
    assert field.field == "Cancel-After"
    assert "30s" in field.description and "100ms" in field.description
    assert "24h" in field.description


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "500ms"),
        (0.1, "100ms"),
        (30.0, "30s"),
        (90.0, "1m30s"),
        (300.0, "5m"),
        (3600.0, "1h"),
        (5400.0, "1h30m"),
        (1.5, "1.5s"),
        (9015.25, "2h30m15.25s"),
        (30.0000001, "30s"),
    ],
)
def test_durations_are_said_as_the_header_writes_them(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_cancel_after(text) == pytest.approx(seconds)
