"""Pure: from a seed, a soak's schedule (which process kind is killed when) and its job mix."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

Kind = Literal["worker", "api", "scaler", "webhooks", "redis"]
Dialect = Literal["native", "a1111", "openai"]

KINDS: tuple[Kind, ...] = ("worker", "api", "scaler", "webhooks", "redis")
DIALECTS: tuple[Dialect, ...] = ("native", "a1111", "openai")


@dataclass(frozen=True)
class Kill:
    """SIGKILL one running process of `kind`, `at_s` seconds after the soak starts."""

    at_s: float
    kind: Kind


@dataclass(frozen=True)
class JobSpec:
    """One job: submitted through `dialect` at `at_s`, with a prompt no other job has."""

    index: int
    dialect: Dialect
    at_s: float
    steps: int
    prompt: str
    # The receiver refuses this many of the job's first webhook deliveries (native jobs only).
    refuse_webhooks: int = 0


@dataclass(frozen=True)
class Plan:
    seed: int
    duration_s: float
    jobs: tuple[JobSpec, ...]
    kills: tuple[Kill, ...]


# Jobs arrive over this share of the duration and kills happen within it, so later kills still
# hit work in flight; the rest of the duration is for recovery.
ACTIVE_SHARE = 0.7
SECONDS_PER_KILL = 6.0
MIN_STEPS, MAX_STEPS = 4, 12
REFUSED_WEBHOOK_SHARE = 0.2


def kill_count(duration_s: float) -> int:
    """One kill per SECONDS_PER_KILL of the active share, and at least one of every kind."""
    return max(len(KINDS), round(duration_s * ACTIVE_SHARE / SECONDS_PER_KILL))


def make_plan(seed: int, jobs: int, duration_s: float) -> Plan:
    """The same seed, job count and duration always give the same plan."""
    if jobs < 1 or duration_s <= 0:
        raise ValueError("a soak needs at least one job and a positive duration")
    rng = random.Random(seed)
    active_s = duration_s * ACTIVE_SHARE
    specs = tuple(
        JobSpec(
            index=index,
            dialect=DIALECTS[index % len(DIALECTS)],
            at_s=round(rng.uniform(0, active_s), 3),
            steps=rng.randint(MIN_STEPS, MAX_STEPS),
            prompt=f"chaos seed {seed} job {index}",
            refuse_webhooks=(
                rng.randint(1, 2)
                if index % len(DIALECTS) == 0 and rng.random() < REFUSED_WEBHOOK_SHARE
                else 0
            ),
        )
        for index in range(jobs)
    )
    count = kill_count(duration_s)
    kinds = list(KINDS)
    rng.shuffle(kinds)
    kinds += [rng.choice(KINDS) for _ in range(count - len(KINDS))]
    # Evenly spaced slots with jitter: kills never pile up, and the first comes after some work.
    slot = active_s / count
    kills = tuple(
        Kill(round(slot * (n + 0.5) + rng.uniform(-0.3, 0.3) * slot, 3), kind)
        for n, kind in enumerate(kinds)
    )
    return Plan(seed, duration_s, tuple(sorted(specs, key=lambda s: s.at_s)), kills)
