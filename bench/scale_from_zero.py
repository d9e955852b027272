"""Benchmark: the published scenario (`hey -n 50 -c 5`) against `sdq up`'s stack from zero
workers, with the sdq/synthetic model (2 s per job): total and average latency against the
ideal, the workers over time, and the time back to zero after the last job."""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench.stats import percentile
from cli.client import SdqClient
from cli.embedded_redis import free_port
from cli.stack import running_stack
from sdq.scaling_policy import ScalingPolicy
from sdq.settings import ModelSpec, load_settings

MODEL = "sdq/synthetic"


def workers(http: httpx.Client) -> int:
    count: int = http.get(f"/v1/models/{MODEL}").json()["workers"]
    return count


def run(
    requests: int, clients: int, steps: int, step_s: float, policy: ScalingPolicy
) -> dict[str, Any]:
    job_s = steps * step_s
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data_dir=Path(tmp),
            port=free_port(),
            models=[ModelSpec(id=MODEL, scaling=policy)],
            redis_url=None,
            synthetic_step_seconds=step_s,
        )
        with (
            running_stack(settings) as (info, _),
            httpx.Client(base_url=info.url, timeout=120) as http,
        ):
            starting = SdqClient(info.url)
            starting.wait_ready(timeout_s=120)
            starting.close()
            assert workers(http) == 0, "the scenario starts from zero workers"

            timeline: list[tuple[float, int]] = []
            watching = threading.Event()

            def watch(started: float) -> None:
                with httpx.Client(base_url=info.url, timeout=30) as watcher:
                    while not watching.is_set():
                        timeline.append((round(time.perf_counter() - started, 2), workers(watcher)))
                        time.sleep(0.25)

            body = {"model": MODEL, "input": {"prompt": "pretty dog", "num_inference_steps": steps}}

            def client(count: int) -> list[float]:
                latencies = []
                with httpx.Client(base_url=info.url, timeout=120) as own:
                    for _ in range(count):
                        sent = time.perf_counter()
                        answer = own.post(
                            "/v1/predictions", json=body, headers={"Prefer": "wait=60"}
                        )
                        prediction = answer.json()
                        while prediction["status"] not in {"succeeded", "failed", "canceled"}:
                            time.sleep(0.05)
                            prediction = own.get(f"/v1/predictions/{prediction['id']}").json()
                        if prediction["status"] != "succeeded":
                            raise RuntimeError(f"job ended {prediction['status']}")
                        latencies.append(time.perf_counter() - sent)
                return latencies

            started = time.perf_counter()
            watcher = threading.Thread(target=watch, args=(started,), daemon=True)
            watcher.start()
            share = [
                requests // clients + (1 if i < requests % clients else 0) for i in range(clients)
            ]
            with ThreadPoolExecutor(clients) as pool:
                latencies = [x for part in pool.map(client, share) for x in part]
            total = time.perf_counter() - started
            zero_deadline = (
                time.monotonic() + policy.idle_to_zero_s + policy.scale_down_delay_s + 120
            )
            while workers(http) > 0:
                if time.monotonic() > zero_deadline:
                    raise TimeoutError("the pool did not return to zero")
                time.sleep(0.25)
            to_zero = time.perf_counter() - started - total
            watching.set()
            watcher.join()
    ideal = requests / clients * job_s
    return {
        "benchmark": f"hey -n {requests} -c {clients} against sdq up (local scaler), from zero",
        "model": f"{MODEL}, {steps} steps x {step_s} s = {job_s:g} s per job",
        "policy": policy.model_dump(),
        "total_s": round(total, 2),
        "ideal_total_s": ideal,
        "total_over_ideal": round(total / ideal, 3),
        "latency_mean_s": round(statistics.fmean(latencies), 3),
        "latency_mean_over_job": round(statistics.fmean(latencies) / job_s, 3),
        "latency_p50_s": round(percentile(latencies, 50), 3),
        "latency_p95_s": round(percentile(latencies, 95), 3),
        "latency_max_s": round(max(latencies), 3),
        "max_workers": max((n for _, n in timeline), default=0),
        "time_to_zero_after_last_job_s": round(to_zero, 2),
        "workers_timeline": timeline[:: max(1, len(timeline) // 60)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--requests", type=int, default=50)
    parser.add_argument("-c", "--clients", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--step-seconds", type=float, default=0.1)
    parser.add_argument("--idle-to-zero", type=float, default=30.0)
    parser.add_argument("--scale-down-delay", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/scale_from_zero.json"))
    args = parser.parse_args()
    policy = ScalingPolicy(
        idle_to_zero_s=args.idle_to_zero, scale_down_delay_s=args.scale_down_delay
    )
    result = run(args.requests, args.clients, args.steps, args.step_seconds, policy)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "workers_timeline"}, indent=2))


if __name__ == "__main__":
    main()
