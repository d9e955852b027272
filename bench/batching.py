"""Benchmark: 16 concurrent tiny jobs on one warm worker, run one at a time vs micro-batched."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench.latency import wait_for_a_worker
from cli.embedded_redis import free_port
from cli.stack import running_stack
from sdq.scaling_policy import ScalingPolicy
from sdq.settings import ModelSpec, load_settings

POLICY_URL = "/v1/admin/models/sdq/tiny/scaling"
# One warm worker and no more: the comparison is one worker's throughput, batched or not.
ONE_WORKER = ScalingPolicy(min_replicas=1, max_replicas=1)
BATCH_SIZES = (1, 4)


def set_policy(http: httpx.Client, batch_size: int, wait_ms: int) -> None:
    policy = ONE_WORKER.model_dump() | {"max_batch_size": batch_size, "batch_wait_ms": wait_ms}
    response = http.put(POLICY_URL, json=policy)
    response.raise_for_status()
    time.sleep(1.5)  # the worker re-reads the policy at most once a second


TERMINAL = {"succeeded", "failed", "canceled", "aborted"}


def one_job(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    wait = {"Prefer": "wait=60"}
    prediction: dict[str, Any] = http.post("/v1/predictions", json=body, headers=wait).json()
    while prediction["status"] not in TERMINAL:  # a loaded machine may take longer than a wait
        time.sleep(0.05)
        prediction = http.get(f"/v1/predictions/{prediction['id']}").json()
    if prediction["status"] != "succeeded":
        raise RuntimeError(f"a job ended {prediction['status']}: {prediction.get('error')}")
    return prediction


def burst(url: str, jobs: int, size: int, steps: int) -> dict[str, Any]:
    """Submit `jobs` at once (one client and thread each) and wait for all: the wall time, and
    the pipeline calls seen (the jobs of one batch share one predict time)."""
    bodies = [
        {
            "model": "sdq/tiny",
            "input": {
                "prompt": f"a pretty dog {index}",
                "seed": index,
                "width": size,
                "height": size,
                "num_inference_steps": steps,
            },
        }
        for index in range(jobs)
    ]
    # The clients exist before the clock starts: building one costs CPU the stack would share.
    clients = [httpx.Client(base_url=url, timeout=120) for _ in bodies]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        started = time.perf_counter()
        done = list(pool.map(one_job, clients, bodies))
        wall = time.perf_counter() - started
    for client in clients:
        client.close()
    calls = {round(job["metrics"]["predict_time"], 6) for job in done}
    return {
        "wall_s": round(wall, 3),
        "pipeline_calls": len(calls),
        "pipeline_s": round(sum(calls), 3),
        "pipeline_call_p50_s": round(statistics.median(calls), 4),
    }


def run(
    jobs: int, rounds: int, size: int, steps: int, wait_ms: int, threads: int | None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        spec = ModelSpec(id="sdq/tiny", scaling=ONE_WORKER)
        settings = load_settings(
            data_dir=Path(tmp),
            port=free_port(),
            models=[spec],
            redis_url=None,
            torch_threads=threads,
        )
        with (
            running_stack(settings) as (info, _supervisor),
            httpx.Client(base_url=info.url, timeout=120) as http,
        ):
            wait_for_a_worker(http)
            runs: dict[int, list[dict[str, Any]]] = {size_: [] for size_ in BATCH_SIZES}
            for batch_size in BATCH_SIZES:  # warm both paths (a new batch shape is slower once)
                set_policy(http, batch_size, wait_ms)
                burst(info.url, 8, size, steps)
            for _ in range(rounds):  # alternate, so drift in the machine's load hits both alike
                for batch_size in BATCH_SIZES:
                    set_policy(http, batch_size, wait_ms)
                    runs[batch_size].append(burst(info.url, jobs, size, steps))
    medians = {size_: statistics.median(r["wall_s"] for r in rs) for size_, rs in runs.items()}
    best = {size_: min(r["wall_s"] for r in rs) for size_, rs in runs.items()}
    paired = [one["wall_s"] / four["wall_s"] for one, four in zip(runs[1], runs[4], strict=True)]
    return {
        "benchmark": f"{jobs} concurrent jobs (one client each, Prefer: wait) on one warm worker",
        "command": " ".join(["python -m bench.batching", *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "input": {"model": "sdq/tiny", "width": size, "height": size, "num_inference_steps": steps},
        "batch_wait_ms": wait_ms,
        "torch_threads": threads or "torch's default",
        "rounds": rounds,
        "max_batch_size_1": {"median_wall_s": medians[1], "best_wall_s": best[1], "runs": runs[1]},
        "max_batch_size_4": {"median_wall_s": medians[4], "best_wall_s": best[4], "runs": runs[4]},
        "speedup": round(medians[1] / medians[4], 2),
        "speedup_best_of_rounds": round(best[1] / best[4], 2),
        "speedup_per_round": [round(ratio, 2) for ratio in paired],
        "goal": ">= 1.5x faster with max_batch_size 4",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-wait-ms", type=int, default=0)
    parser.add_argument("--torch-threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path("bench/results/batching.json"))
    args = parser.parse_args()
    result = run(
        args.jobs, args.rounds, args.size, args.steps, args.batch_wait_ms, args.torch_threads
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
