"""The loop liveness verdict: a marker never touched, fresh, or stale."""

from __future__ import annotations

import pytest

from sdq.loop_probe import verdict

CASES = [  # (age of the last round, stale after, alive, words in the reason)
    (None, 60, False, "no round recorded yet"),
    (0.4, 60, True, "last round 0.4 s ago"),
    (59.0, 60, True, "last round 59.0 s ago"),
    (61.0, 60, False, "hung"),
]


@pytest.mark.parametrize(("age", "stale", "alive", "words"), CASES)
def test_verdict(age: float | None, stale: float, alive: bool, words: str) -> None:
    ok, why = verdict("scaler", age, stale)
    assert ok is alive and words in why and why.startswith("scaler: ")
