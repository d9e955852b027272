"""The chaos soak's plan: a seed gives one schedule of kills and one job mix, every time."""

from __future__ import annotations

from collections import Counter

import pytest

from chaos.plan import ACTIVE_SHARE, DIALECTS, KINDS, kill_count, make_plan


@pytest.mark.parametrize(
    ("duration_s", "kills"),
    [(1, 5), (30, 5), (60, 7), (90, 10), (120, 14), (600, 70)],
)
def test_one_kill_per_six_active_seconds_and_never_fewer_than_the_kinds(
    duration_s: float, kills: int
) -> None:
    assert kill_count(duration_s) == kills


@pytest.mark.parametrize(("seed", "jobs", "duration_s"), [(1, 20, 30), (7, 60, 90), (2**31, 3, 5)])
def test_the_same_seed_gives_the_same_plan(seed: int, jobs: int, duration_s: float) -> None:
    assert make_plan(seed, jobs, duration_s) == make_plan(seed, jobs, duration_s)


def test_another_seed_gives_another_plan() -> None:
    assert make_plan(1, 20, 30) != make_plan(2, 20, 30)


@pytest.mark.parametrize(("seed", "jobs", "duration_s"), [(1, 20, 30), (7, 60, 90), (3, 3, 5)])
def test_every_kind_is_killed_and_every_dialect_used_within_the_active_share(
    seed: int, jobs: int, duration_s: float
) -> None:
    plan = make_plan(seed, jobs, duration_s)
    assert {kill.kind for kill in plan.kills} == set(KINDS)
    assert {job.dialect for job in plan.jobs} == set(DIALECTS[:jobs])
    times = [kill.at_s for kill in plan.kills] + [job.at_s for job in plan.jobs]
    assert all(0 <= at <= duration_s * ACTIVE_SHARE for at in times)
    assert [kill.at_s for kill in plan.kills] == sorted(kill.at_s for kill in plan.kills)


def test_the_mix_is_even_across_dialects_and_prompts_are_unique() -> None:
    plan = make_plan(5, 60, 90)
    assert Counter(job.dialect for job in plan.jobs) == dict.fromkeys(DIALECTS, 20)
    assert len({job.prompt for job in plan.jobs}) == 60
    assert sorted(job.index for job in plan.jobs) == list(range(60))


def test_only_native_jobs_have_webhooks_refused_and_some_do() -> None:
    plan = make_plan(5, 60, 90)
    refusing = [job for job in plan.jobs if job.refuse_webhooks]
    assert refusing
    assert {job.dialect for job in refusing} == {"native"}


@pytest.mark.parametrize(("jobs", "duration_s"), [(0, 30), (10, 0), (10, -1)])
def test_an_empty_soak_is_refused(jobs: int, duration_s: float) -> None:
    with pytest.raises(ValueError, match="at least one job"):
        make_plan(1, jobs, duration_s)
