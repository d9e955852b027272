"""Restart backoff of supervised processes."""

from __future__ import annotations

import pytest

from cli.supervisor import restart_delay


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0.5), (1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0), (7, 30.0), (50, 30.0)],
)
def test_backoff_doubles_up_to_a_cap(failures: int, delay: float) -> None:
    assert restart_delay(failures) == delay
