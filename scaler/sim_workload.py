"""What the simulator replays: arrival patterns (closed loop, Poisson, trace) and job times."""

from __future__ import annotations

import csv
import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

Sampler = Callable[[random.Random], float]


def parse_job_time(spec: str) -> Sampler:
    """`10` (fixed), `uniform:8,12`, `exp:10` (mean), `normal:10,2` (mean, sd; at least 0.1 s),
    `lognormal:10,0.5` (median, sigma): seconds a job runs on a warm worker."""
    kind, _, args = spec.partition(":")
    try:
        if not args:
            fixed = float(kind)
            if fixed <= 0:
                raise ValueError
            return lambda rng: fixed
        values = [float(v) for v in args.split(",")]
    except ValueError:
        raise ValueError(f"job time {spec!r}: expected seconds > 0 or KIND:ARGS") from None
    if kind == "uniform" and len(values) == 2 and 0 < values[0] <= values[1]:
        low, high = values
        return lambda rng: rng.uniform(low, high)
    if kind == "exp" and len(values) == 1 and values[0] > 0:
        mean = values[0]
        return lambda rng: rng.expovariate(1 / mean)
    if kind == "normal" and len(values) == 2 and values[0] > 0 and values[1] >= 0:
        mean, sd = values
        return lambda rng: max(0.1, rng.gauss(mean, sd))
    if kind == "lognormal" and len(values) == 2 and values[0] > 0 and values[1] >= 0:
        median, sigma = values
        return lambda rng: rng.lognormvariate(math.log(median), sigma)
    raise ValueError(
        f"job time {spec!r}: use SECONDS, uniform:LOW,HIGH, exp:MEAN, normal:MEAN,SD "
        "or lognormal:MEDIAN,SIGMA"
    )


@dataclass(frozen=True)
class Workload:
    """Jobs with their run times; either open arrivals (`arrivals`) or a closed loop of
    `clients` each sending its next job when the previous one finishes (like `hey -n -c`)."""

    durations: tuple[float, ...]
    arrivals: tuple[float, ...] | None = None
    clients: int | None = None
    description: str = ""

    @property
    def jobs(self) -> int:
        return len(self.durations)


def closed_loop(requests: int, clients: int, job_time: Sampler, seed: int) -> Workload:
    if requests < 1 or not 1 <= clients <= requests:
        raise ValueError("closed loop needs requests >= 1 and 1 <= clients <= requests")
    rng = random.Random(seed)
    durations = tuple(job_time(rng) for _ in range(requests))
    return Workload(
        durations, clients=clients, description=f"closed loop -n {requests} -c {clients}"
    )


def poisson(rate_per_s: float, jobs: int, job_time: Sampler, seed: int) -> Workload:
    if rate_per_s <= 0 or jobs < 1:
        raise ValueError("poisson needs a rate > 0 and jobs >= 1")
    rng = random.Random(seed)
    arrivals, now = [], 0.0
    for _ in range(jobs):
        arrivals.append(now)
        now += rng.expovariate(rate_per_s)
    durations = tuple(job_time(rng) for _ in range(jobs))
    return Workload(durations, tuple(arrivals), description=f"poisson {rate_per_s:g}/s x {jobs}")


def trace(text: str, job_time: Sampler, seed: int) -> Workload:
    """CSV rows `arrival_s[,duration_s]` (a header row is skipped); times are shifted to
    start at 0; rows without a duration draw one from `job_time`."""
    rng = random.Random(seed)
    rows: list[tuple[float, float]] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        try:
            arrival = float(row[0])
            duration = float(row[1]) if len(row) > 1 and row[1].strip() else job_time(rng)
        except ValueError:
            if not rows and number == 1:
                continue  # header
            raise ValueError(f"trace line {number}: expected arrival_s[,duration_s]") from None
        if duration <= 0:
            raise ValueError(f"trace line {number}: duration must be > 0")
        rows.append((arrival, duration))
    if not rows:
        raise ValueError("trace has no arrivals")
    rows.sort()
    start = rows[0][0]
    return Workload(
        tuple(d for _, d in rows),
        tuple(a - start for a, _ in rows),
        description=f"trace of {len(rows)} arrivals",
    )
