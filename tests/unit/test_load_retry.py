"""Retrying a model that fails to load: exponential backoff with a cap, and when its jobs fail."""

from __future__ import annotations

import pytest

from sdq.settings import Settings
from sdq.store.model_health import LoadRetry, ModelHealth, ModelStatus

RETRY = LoadRetry(backoff_s=10.0, backoff_max_s=300.0, max_failures=3)


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [(0, 0.0), (1, 10.0), (2, 20.0), (3, 40.0), (4, 80.0), (5, 160.0), (6, 300.0), (60, 300.0)],
)
def test_the_wait_doubles_per_failed_load_up_to_the_cap(attempts: int, delay: float) -> None:
    assert RETRY.delay_s(attempts) == delay


@pytest.mark.parametrize(
    ("attempts", "refuses"), [(0, False), (1, False), (2, False), (3, True), (7, True)]
)
def test_jobs_are_refused_after_max_failures_in_a_row(attempts: int, refuses: bool) -> None:
    health = ModelHealth(
        model="x/y",
        status=ModelStatus.UNAVAILABLE if attempts else ModelStatus.AVAILABLE,
        attempts=attempts,
        failed_at=1000.0 if attempts else None,
    )
    assert health.refuses_jobs(RETRY) is refuses


def test_the_next_load_is_due_one_backoff_after_the_last_failure() -> None:
    health = ModelHealth(model="x/y", status=ModelStatus.UNAVAILABLE, attempts=3, failed_at=1000.0)
    assert health.next_load_at(RETRY) == 1040.0
    assert ModelHealth(model="x/y").next_load_at(RETRY) is None


def test_the_policy_comes_from_the_settings() -> None:
    settings = Settings(
        model_load_backoff_s=2, model_load_backoff_max_s=8, model_load_max_failures=5
    )
    assert LoadRetry.from_settings(settings) == LoadRetry(2.0, 8.0, 5)
    with pytest.raises(ValueError, match="model_load_backoff_max_s"):
        Settings(model_load_backoff_s=20, model_load_backoff_max_s=8)
