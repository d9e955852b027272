"""Benchmark: LoRA adapter loads per 100 jobs with and without adapter-aware dispatch.

Three workers of one model take jobs asking for one of five adapters through the real claim
(`sdq.store.jobs.claim_next` on a real redis-server); each keeps its loaded adapters in the
worker's own LRU plan (`worker.engines.adapter_plan`). Time is simulated: a job takes one unit, an
adapter load `--load-cost` more, so the benchmark counts loads and claims, not pipeline seconds.
Two workloads: a backlog (every job queued before the first claim) and a steady stream (arrivals
at about 90% of the workers' capacity). The same seeded jobs run with the preference (the
settings' defaults) and without it (FIFO within a tenant's turn).
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from bench.scheduler import code_version
from cli.embedded_redis import EmbeddedRedis
from sdq.job import Job, new_job_id
from sdq.scheduling import FIFO, Affinity
from sdq.settings import Settings
from sdq.store.jobs import claim_next, create_job
from sdq.store.ops import OpRunner
from worker.engines.adapter_plan import plan_adapters

RETENTION_S = 3600
ADAPTERS = tuple(f"style{index}" for index in range(5))
TENANTS = ("t0", "t1", "t2")
UTILIZATION = 0.9


@dataclass
class SimWorker:
    name: str
    capacity: int
    held: tuple[str, ...] = ()
    loads: int = 0

    def run(self, adapters: list[str]) -> int:
        """The loads this job costs the worker (its LRU updated)."""
        plan = plan_adapters(self.held, adapters, self.capacity)
        self.held = plan.held
        self.loads += len(plan.load)
        return len(plan.load)


@dataclass
class Outcome:
    loads: int = 0
    waits: list[int] = field(default_factory=list)  # claims between a job's arrival and its own
    passed_over: list[int] = field(default_factory=list)  # younger jobs of its tenant taken first
    finished: float = 0.0  # when the last job ended, in job times


def workload(seed: int, jobs: int, steady: bool, workers: int) -> list[tuple[float, str, str]]:
    """(arrival time, tenant, adapter) per job, seeded."""
    rng = random.Random(seed)
    rate = UTILIZATION * workers  # jobs per time unit (a job takes about one)
    arrivals, now = [], 0.0
    for _ in range(jobs):
        if steady:
            now += rng.expovariate(rate)
        arrivals.append((now, rng.choice(TENANTS), rng.choice(ADAPTERS)))
    return arrivals


def simulate(
    store: OpRunner,
    model: str,
    arrivals: list[tuple[float, str, str]],
    workers: int,
    capacity: int,
    affinity_of: Any,
    load_cost: float,
) -> Outcome:
    """Run the jobs through the real claim; the loads and each job's wait in claims."""
    pool = [SimWorker(f"w{index}", capacity) for index in range(workers)]
    free: list[tuple[float, int]] = [(0.0, index) for index in range(workers)]
    heapq.heapify(free)
    pending = list(arrivals)
    arrived_at_claim: dict[str, int] = {}
    queued: dict[str, list[str]] = {tenant: [] for tenant in TENANTS}  # oldest first
    passed: dict[str, int] = {}
    outcome, claims, base, created = Outcome(), 0, time.time(), 0
    while pending or arrived_at_claim:
        when, index = heapq.heappop(free)
        if not arrived_at_claim and pending and pending[0][0] > when:
            when = pending[0][0]  # nothing queued: the worker waits for the next arrival
        while pending and pending[0][0] <= when:
            at, tenant, adapter = pending.pop(0)
            job = Job(
                id=new_job_id(),
                model=model,
                input={"prompt": "dog", "loras": [{"name": adapter, "scale": 1.0}]},
                created_at=base + at + created * 1e-4,  # arrival order, even at one time
                tenant=tenant,
            )
            store.run(create_job(job, RETENTION_S))
            arrived_at_claim[job.id] = claims
            created += 1
            queued[tenant].append(job.id)
        worker = pool[index]
        op = claim_next(
            model,
            worker_id=worker.name,
            retention_s=RETENTION_S,
            now=time.time(),
            affinity=affinity_of(frozenset(worker.held)),
        )
        claimed = store.run(op).job
        if claimed is None:
            raise RuntimeError("a queued job was not claimed")
        outcome.waits.append(claims - arrived_at_claim.pop(claimed.id))
        line = queued[claimed.tenant]
        for older in line[: line.index(claimed.id)]:
            passed[older] = passed.get(older, 0) + 1
        line.remove(claimed.id)
        outcome.passed_over.append(passed.pop(claimed.id, 0))
        claims += 1
        loads = worker.run([choice["name"] for choice in claimed.input["loras"]])
        done = when + 1.0 + load_cost * loads
        outcome.finished = max(outcome.finished, done)
        heapq.heappush(free, (done, index))
    outcome.loads = sum(worker.loads for worker in pool)
    return outcome


def compare(store: OpRunner, args: argparse.Namespace, steady: bool, capacity: int) -> Any:
    settings = Settings()
    window, passes = settings.adapter_affinity_window, settings.adapter_affinity_max_passes
    figures: dict[str, Any] = {}
    for label, affinity_of in (
        ("without_preference", lambda held: FIFO),
        ("with_preference", lambda held: Affinity(held, window, passes)),
    ):
        loads, waits, passed, finished = [], [], [], []
        for seed in range(args.seeds):
            arrivals = workload(seed, args.jobs, steady, args.workers)
            model = f"bench/adapters-{label}-{steady}-{capacity}-{seed}"
            outcome = simulate(
                store, model, arrivals, args.workers, capacity, affinity_of, args.load_cost
            )
            loads.append(outcome.loads * 100 / args.jobs)
            waits.extend(outcome.waits)
            passed.extend(outcome.passed_over)
            finished.append(outcome.finished)
        figures[label] = {
            "loads_per_100_jobs": round(statistics.mean(loads), 1),
            "loads_per_100_jobs_each_seed": [round(value, 1) for value in loads],
            "claims_waited_p50": statistics.median(waits),
            "claims_waited_max": max(waits),
            "times_a_job_was_passed_over_max": max(passed),
            "last_job_done_at (job times)": round(statistics.mean(finished), 1),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--load-cost", type=float, default=0.3, help="a load's time, in jobs")
    parser.add_argument("--out", type=Path, default=Path("bench/results/adapter_dispatch.json"))
    args = parser.parse_args()
    settings = Settings()
    started = time.monotonic()
    result: dict[str, Any] = {
        "benchmark": "adapter loads per 100 jobs over 5 adapters with 3 workers, the real claim "
        "script on a real redis-server, simulated job time",
        "command": f"python -m bench.adapter_dispatch --jobs {args.jobs} --workers {args.workers} "
        f"--seeds {args.seeds} --load-cost {args.load_cost:g}",
        "code": code_version(),
        "adapters": len(ADAPTERS),
        "tenants": len(TENANTS),
        "affinity": {
            "SDQ_ADAPTER_AFFINITY_WINDOW": settings.adapter_affinity_window,
            "SDQ_ADAPTER_AFFINITY_MAX_PASSES": settings.adapter_affinity_max_passes,
        },
    }
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedRedis(Path(tmp), appendonly=False) as server,
    ):
        client = redis.Redis.from_url(server.url, decode_responses=True)
        store = OpRunner(client)
        for steady in (False, True):
            name = "steady_stream" if steady else "backlog"
            result[name] = {
                f"lora_cache_size_{capacity}": compare(store, args, steady, capacity)
                for capacity in (1, 2, 3, 5)
            }
        client.close()
    result["took_s"] = round(time.monotonic() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
