"""What a round of holding a lease logs: only the changes."""

from __future__ import annotations

import pytest

from sdq.leadership import change, lease_length
from sdq.store.leases import LeaseState

ROUNDS = [  # (token before, the round's state, the line's start or None)
    (0, LeaseState(3, "me", 9000), "holding the scaler lease (token 3)"),
    (3, LeaseState(3, "me", 9000), None),  # renewed
    (3, LeaseState(5, "me", 9000), "the scaler lease was lost and taken again (token 5)"),
    (3, LeaseState(0, "other", 4000), "lost the scaler lease to other"),
    (0, LeaseState(0, "other", 4000), None),  # standing by, as before
]


@pytest.mark.parametrize(("before", "state", "line"), ROUNDS)
def test_only_changes_are_said(before: int, state: LeaseState, line: str | None) -> None:
    said = change("scaler", before, state)
    assert (said is None) if line is None else (said is not None and said.startswith(line))


@pytest.mark.parametrize(("interval", "length"), [(0.5, 2.0), (1, 3), (3, 9), (10, 30)])
def test_a_lease_outlasts_three_rounds(interval: float, length: float) -> None:
    assert lease_length(interval) == length
