"""Timestamps in answers: RFC 3339 in UTC with microseconds and a `Z`, as strftime writes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sdq.prediction import iso_time


@pytest.mark.parametrize(
    ("ts", "text"),
    [
        (0.0, "1970-01-01T00:00:00.000000Z"),
        (1.5, "1970-01-01T00:00:01.500000Z"),
        (1733212800.25, "2024-12-03T08:00:00.250000Z"),
        (4102444799.999999, "2099-12-31T23:59:59.999999Z"),
    ],
)
def test_a_timestamp_reads_as_utc_with_microseconds(ts: float, text: str) -> None:
    assert iso_time(ts) == text
    assert iso_time(ts) == datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_none_stays_none() -> None:
    assert iso_time(None) is None
