"""Benchmark: the claim-time scheduler's cost per claim and per submit, and whom it serves first."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import redis

import sdq
import sdq.store.jobs as jobs_store
from bench.bare_stack import bare_stack
from bench.stats import summarize
from cli.embedded_redis import EmbeddedRedis
from sdq.job import Job, JobStatus, Transition, new_job_id
from sdq.store.ops import OpRunner

# The claim-time scheduler (`claim_next`); before it, a message named the job the worker claimed.
SCHEDULED = hasattr(jobs_store, "claim_next")
RETENTION_S = 3600
WORKER_ID = "bench-worker"
TENANTS = 4
DEEP_JOBS = 10_000
DEEP_TENANTS = 50
DEPTH_WINDOW = 1000  # claims compared at the deep end and at the shallow end of the deep queue
WIDE_JOBS = 5000  # a wide queue: many tenants waiting at one priority
WIDE_TENANTS = 1000
WIDE_CLAIMS = 1000
PLACE_SAMPLES = 200  # queue_place reads sampled over a queue's jobs
CONCURRENCY = 16
SUBMIT_WARMUP = 50
# No worker ever starts: the scaler may not add any, so the queue only grows.
SUBMIT_PATH = "/v1/models/sdq/tiny/predictions"
SUBMIT_BODY = {"input": {"prompt": "dog", "width": 64, "height": 64, "num_inference_steps": 2}}


def new_job(model: str, tenant: str) -> Job:
    return Job(
        id=new_job_id(), model=model, input={"prompt": "dog"}, created_at=time.time(), tenant=tenant
    )


def create(store: OpRunner, job: Job) -> float:
    """Create and queue one job (the store's part of a submit); its round trip in seconds."""
    op = jobs_store.create_job(job, RETENTION_S)
    started = time.perf_counter()
    reply = store.run(op)
    took = time.perf_counter() - started
    created = reply if isinstance(reply, bool) else reply.created  # before: a bool
    if not created:
        raise RuntimeError(f"job {job.id} was not created: {reply!r}")
    return took


class Claimer:
    """One free worker taking jobs: the scheduler's pick of the model's queue (after), or the
    job its message named, in submission order (before)."""

    def __init__(self, store: OpRunner, model: str) -> None:
        self.store = store
        self.model = model
        self.named: list[str] = []  # before: the ids the messages would carry, oldest first

    def created(self, job: Job) -> None:
        self.named.append(job.id)

    def claim(self) -> tuple[Job, float]:
        """Claim one job; the job and the claim's round trip in seconds."""
        now = time.time()
        op: Any
        if SCHEDULED:
            op = jobs_store.claim_next(
                self.model, worker_id=WORKER_ID, retention_s=RETENTION_S, now=now
            )
        else:
            op = jobs_store.transition(
                Transition.CLAIM,
                self.named.pop(0),
                retention_s=RETENTION_S,
                event_data={"worker_id": WORKER_ID},
                now=now,
                fields={"worker_id": WORKER_ID, "started_at": now, "cancel_requested": False},
            )
        started = time.perf_counter()
        reply = self.store.run(op)
        took = time.perf_counter() - started
        job = reply.job if SCHEDULED else reply
        if job is None or job.status is not JobStatus.RUNNING:
            raise RuntimeError(f"the claim started nothing: {reply!r}")
        return job, took


def server_reset(store: OpRunner) -> None:
    """Zero Redis's own per-command timings (`INFO commandstats`) before a phase."""
    store.redis.config_resetstat()


def server_us(store: OpRunner) -> float:
    """Microseconds Redis spent per script call since `server_reset`, as it measured them: the
    Lua's own cost, without the network and the client."""
    stats: dict[str, Any] = store.redis.info("commandstats")
    entry = stats.get("cmdstat_evalsha") or {}
    return round(float(entry.get("usec_per_call", 0.0)), 1)


def timed(store: OpRunner, took: list[float]) -> dict[str, float]:
    """Client round trips summarized, with the server's time per script call."""
    return summarize(took) | {"server_us_per_call": server_us(store)}


def fill(store: OpRunner, claimer: Claimer, jobs: int, tenants: list[str]) -> list[float]:
    """Queue `jobs` jobs, the tenants taking turns; each create's round trip."""
    took = []
    for index in range(jobs):
        job = new_job(claimer.model, tenants[index % len(tenants)])
        took.append(create(store, job))
        claimer.created(job)
    return took


def drain(claimer: Claimer, jobs: int) -> tuple[list[Job], list[float]]:
    claimed, took = [], []
    for _ in range(jobs):
        job, seconds = claimer.claim()
        claimed.append(job)
        took.append(seconds)
    return claimed, took


def store_figures(store: OpRunner, run: str, jobs: int) -> dict[str, Any]:
    """Create then claim `jobs` jobs over a few tenants, then a deep queue, then a wide one."""
    warm = Claimer(store, f"bench/warm-{run}")  # loads the scripts into Redis
    drain(warm, len(fill(store, warm, 20, [f"{run}-t{i}" for i in range(TENANTS)])))

    shallow = Claimer(store, f"bench/sched-{run}")
    tenants = [f"{run}-t{i}" for i in range(TENANTS)]
    server_reset(store)
    create = timed(store, fill(store, shallow, jobs, tenants))
    server_reset(store)
    claimed, claim_took = drain(shallow, jobs)
    claim = timed(store, claim_took)
    if len({job.id for job in claimed}) != jobs:
        raise RuntimeError("a job was claimed twice")

    deep = Claimer(store, f"bench/deep-{run}")
    deep_tenants = [f"{run}-d{i:02d}" for i in range(DEEP_TENANTS)]
    server_reset(store)
    deep_create = timed(store, fill(store, deep, DEEP_JOBS, deep_tenants))
    places: dict[str, Any] = {}
    if SCHEDULED:
        server_reset(store)
        places["queue_place (a queued job's position)"] = timed(store, place_reads(store, deep))
    windows = (DEPTH_WINDOW, DEEP_JOBS - 2 * DEPTH_WINDOW, DEPTH_WINDOW)
    deep_took, deep_server = [], []  # the deep end, the middle, the shallow end
    for claims in windows:
        server_reset(store)
        deep_took.append(drain(deep, claims)[1])
        deep_server.append(server_us(store))
    whole = sum(us * claims for us, claims in zip(deep_server, windows, strict=True)) / DEEP_JOBS
    return {
        "create": create,
        "claim": claim,
        "deep_queue": {
            "jobs": DEEP_JOBS,
            "tenants": DEEP_TENANTS,
            "create": deep_create,
            "claim": summarize([t for window in deep_took for t in window])
            | {"server_us_per_call": round(whole, 1)},
            f"claim_first_{DEPTH_WINDOW} (queue {DEEP_JOBS}..{DEEP_JOBS - DEPTH_WINDOW + 1})": (
                summarize(deep_took[0]) | {"server_us_per_call": deep_server[0]}
            ),
            f"claim_last_{DEPTH_WINDOW} (queue {DEPTH_WINDOW}..1)": (
                summarize(deep_took[2]) | {"server_us_per_call": deep_server[2]}
            ),
        }
        | places,
        "wide_queue": wide_figures(store, run),
    }


def wide_figures(store: OpRunner, run: str) -> dict[str, Any]:
    """Claims (and queue positions) with many tenants waiting at once."""
    wide = Claimer(store, f"bench/wide-{run}")
    server_reset(store)
    wide_create = timed(
        store, fill(store, wide, WIDE_JOBS, [f"{run}-w{i:04d}" for i in range(WIDE_TENANTS)])
    )
    places: dict[str, Any] = {}
    if SCHEDULED:
        server_reset(store)
        places["queue_place (a queued job's position)"] = timed(store, place_reads(store, wide))
    server_reset(store)
    wide_claim = timed(store, drain(wide, WIDE_CLAIMS)[1])
    return {
        "jobs": WIDE_JOBS,
        "tenants": WIDE_TENANTS,
        "create": wide_create,
        f"claim (first {WIDE_CLAIMS})": wide_claim,
    } | places


def place_reads(store: OpRunner, claimer: Claimer) -> list[float]:
    """Time `queue_place` (what a native POST or GET adds for a queued job) on a sample of the
    queue's jobs: a position reads every tenant of the job's priority."""
    job_ids = claimer.named
    took = []
    for job_id in job_ids[:: max(1, len(job_ids) // PLACE_SAMPLES)]:
        op = jobs_store.queue_place(job_id)
        started = time.perf_counter()
        place = store.run(op)
        took.append(time.perf_counter() - started)
        if place is None:
            raise RuntimeError(f"job {job_id} is not queued")
    return took


def pure_order(arrivals: list[tuple[str, int]], busy: bool) -> list[str]:
    """The claim order the pure rules of `sdq.scheduling` give for the same arrivals (tenants
    named by their letter, as their store names sort alike)."""
    from sdq.scheduling import DEFAULT_PRIORITY, QueueState, claim_order, enqueue, next_job

    state, order = QueueState(), []
    for position, (letter, count) in enumerate(arrivals):
        for index in range(count):
            state = enqueue(state, DEFAULT_PRIORITY, letter, f"{letter}{index}")
        if busy and position == 0 and (taken := next_job(state)) is not None:
            order.append(taken[0][0])
            state = taken[1]
    return order + [job_id[0] for job_id in claim_order(state)]


def fairness_case(
    store: OpRunner, run: str, name: str, arrivals: list[tuple[str, int]], busy: bool
) -> dict[str, Any]:
    """Tenants submit in turn (`arrivals`: tenant, jobs); one worker claims sequentially. `busy`:
    the worker took the first tenant's first job before the others arrived."""
    claimer = Claimer(store, f"bench/fair-{run}-{name}")
    tenant_of = {letter: f"{run}-{letter}" for letter, _ in arrivals}
    letter_of = {tenant: letter for letter, tenant in tenant_of.items()}
    order: list[str] = []
    total = 0
    for position, (letter, count) in enumerate(arrivals):
        fill(store, claimer, count, [tenant_of[letter]])
        total += count
        if busy and position == 0:
            order.append(letter_of[claimer.claim()[0].tenant])
    claimed, _ = drain(claimer, total - len(order))
    order += [letter_of[job.tenant] for job in claimed]
    fifo = [letter for letter, count in arrivals for _ in range(count)]
    first_12 = order[:12]
    return {
        "arrivals": [f"{letter}:{count}" for letter, count in arrivals],
        "worker_busy_before_others_arrive": busy,
        "claim_order": "".join(order),
        "first_claim_index": {letter: order.index(letter) for letter, _ in arrivals},
        "share_of_first_12": {letter: first_12.count(letter) for letter, _ in arrivals},
        "fifo_first_claim_index": {letter: fifo.index(letter) for letter, _ in arrivals},
        "matches_sdq_scheduling": order == pure_order(arrivals, busy),
    }


def fairness_figures(store: OpRunner, run: str) -> dict[str, Any]:
    three = [("A", 30), ("B", 10), ("C", 1)]
    two = [("A", 10), ("B", 1)]
    return {
        "three_tenants_queued_up_front": fairness_case(store, run, "3q", three, busy=False),
        "three_tenants_worker_busy": fairness_case(store, run, "3b", three, busy=True),
        "two_tenants_queued_up_front": fairness_case(store, run, "2q", two, busy=False),
        "two_tenants_worker_busy": fairness_case(store, run, "2b", two, busy=True),
    }


def with_store(body: Callable[[OpRunner], dict[str, Any]]) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedRedis(Path(tmp), appendonly=False) as server,
    ):
        client = redis.Redis.from_url(server.url, decode_responses=True)
        try:
            return body(OpRunner(client))
        finally:
            client.close()


async def submit_all(url: str, requests: int) -> tuple[list[float], float]:
    """`requests` POSTs from CONCURRENCY senders; each latency, and the wall time of them all."""
    took: list[float] = []
    left = requests
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:

        async def sender() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                started = time.perf_counter()
                response = await http.post(SUBMIT_PATH, json=SUBMIT_BODY)
                took.append(time.perf_counter() - started)
                if response.status_code != 201:
                    raise RuntimeError(f"submit answered {response.status_code}: {response.text}")

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
        return took, time.perf_counter() - started


def process_origin(pid: int | None) -> dict[str, str]:
    """Where a child process runs its code from: its working directory and PYTHONPATH."""
    if pid is None:
        return {}
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    pythonpath = next((e[11:].decode() for e in environ if e.startswith(b"PYTHONPATH=")), "")
    return {"cwd": os.readlink(f"/proc/{pid}/cwd"), "PYTHONPATH": pythonpath}


def submit_figures(requests: int) -> dict[str, Any]:
    """POST to a real API (and its stack: Redis, scaler, webhook sender) with no worker, open
    on loopback (no admin key: the children take their settings from the environment)."""
    with bare_stack() as (info, supervisor):
        asyncio.run(submit_all(info.url, SUBMIT_WARMUP))
        took, wall = asyncio.run(submit_all(info.url, requests))
        client = redis.Redis.from_url(info.redis_url, decode_responses=True)
        try:
            queued = int(client.zcard("sdq:queued:sdq/tiny"))
            sched_keys = len(list(client.scan_iter("sdq:sched:sdq/tiny:*")))
        finally:
            client.close()
        api = process_origin(supervisor.pid("api"))
    return {
        "requests": requests,
        "concurrency": CONCURRENCY,
        "warmup": SUBMIT_WARMUP,
        "requests_per_s": round(requests / wall, 1),
        "latency": summarize(took),
        "queued_after (no worker ran)": queued,
        "scheduling_keys_written_by_the_api": sched_keys,
        "api_process": api,
        "workers": "none: sdq/tiny with min_replicas 0, max_replicas 0 (the scaler starts none)",
    }


def code_version() -> dict[str, Any]:
    """The commit the imported `sdq` comes from, and whether tracked files changed since."""
    root = Path(sdq.__file__).parent.parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            check=False,
            env=os.environ | {"GIT_OPTIONAL_LOCKS": "0"},  # read only: no index refresh
        ).stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted": bool(git("status", "-s", "-uno")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000, help="jobs created then claimed")
    parser.add_argument("--requests", type=int, default=2000, help="HTTP submits")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    code = "claim_next (claim-time scheduler)" if SCHEDULED else "transition(CLAIM, job_id)"
    out = args.out or Path(
        "bench/results/scheduler.json" if SCHEDULED else "bench/results/scheduler-before.json"
    )
    print(f"claim path: {code}; sdq imported from {Path(sdq.__file__).parent}", flush=True)
    run = secrets.token_hex(4)
    started = time.monotonic()
    result: dict[str, Any] = {
        "benchmark": "store round trips of create and claim on a real redis-server, and HTTP "
        "submits to a real API over loopback (client-measured)",
        "command": f"python -m bench.scheduler --jobs {args.jobs} --requests {args.requests}",
        "claim_path": code,
        "sdq_from": str(Path(sdq.__file__).parent),
        "code": code_version(),
        "machine": {
            "platform": platform.platform(),
            "arch": platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "jobs": args.jobs,
        "tenants": TENANTS,
        "store": with_store(lambda store: store_figures(store, run, args.jobs)),
    }
    if SCHEDULED:
        result["fairness"] = with_store(lambda store: fairness_figures(store, run))
    result["submit"] = submit_figures(args.requests)
    result["took_s"] = round(time.monotonic() - started, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
