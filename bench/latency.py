"""Benchmark: end-to-end latency vs pipeline time of sequential tiny jobs on a warm worker."""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from cli.embedded_redis import free_port
from cli.stack import running_stack
from sdq.scaling_policy import ScalingPolicy
from sdq.settings import ModelSpec, load_settings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


WARM_TINY = ModelSpec(id="sdq/tiny", scaling=ScalingPolicy(min_replicas=1))


def wait_for_a_worker(http: httpx.Client, timeout_s: float = 300) -> None:
    """Until the stack reports a live worker for its first model (kept warm by min_replicas)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if http.get("/v1/models").json()["results"][0]["workers"] >= 1:
                return
        except (httpx.TransportError, KeyError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("stack did not become ready")
        time.sleep(0.2)


def summarize(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 2),
        "p99_ms": round(percentile(values, 99) * 1000, 2),
        "mean_ms": round(statistics.fmean(values) * 1000, 2),
        "min_ms": round(min(values) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


def run(
    jobs: int, warmup: int, size: int, steps: int, preview_every: int | None = None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data_dir=Path(tmp), port=free_port(), models=[WARM_TINY], redis_url=None
        )
        with (
            running_stack(settings) as (info, _supervisor),
            httpx.Client(base_url=info.url, timeout=120) as http,
        ):
            wait_for_a_worker(http)
            body = {
                "model": "sdq/tiny",
                "input": {
                    "prompt": "a pretty dog",
                    "width": size,
                    "height": size,
                    "num_inference_steps": steps,
                },
            }
            end_to_end: list[float] = []
            predict: list[float] = []
            queue_wait: list[float] = []
            after_pipeline: list[float] = []
            for index in range(warmup + jobs):
                started = time.perf_counter()
                response = http.post("/v1/predictions", json=body, headers={"Prefer": "wait=60"})
                elapsed = time.perf_counter() - started
                prediction = response.json()
                if prediction["status"] != "succeeded":
                    raise RuntimeError(
                        f"job {index} ended {prediction['status']}: {prediction['error']}"
                    )
                if index >= warmup:
                    end_to_end.append(elapsed)
                    metrics = prediction["metrics"]
                    predict.append(metrics["predict_time"])
                    queue_wait.append(metrics["queue_wait"])
                    after_pipeline.append(
                        metrics["total_time"] - metrics["queue_wait"] - metrics["predict_time"]
                    )
    overhead = [e - p for e, p in zip(end_to_end, predict, strict=True)]
    return {
        "benchmark": "sequential jobs, warm worker, POST with Prefer: wait (client-measured)",
        "jobs": jobs,
        "input": {
            "width": size,
            "height": size,
            "num_inference_steps": steps,
            "preview_every": preview_every,
        },
        "machine": {"cpus": platform.machine(), "python": platform.python_version()},
        "end_to_end": summarize(end_to_end),
        "pipeline": summarize(predict),
        "overhead": summarize(overhead),
        "overhead_parts": {
            "queue_wait (created -> claimed by the worker)": summarize(queue_wait),
            "worker bookkeeping (claim to pipeline start, PNG, storage, terminal write)": summarize(
                after_pipeline
            ),
            "response (terminal write -> client has the reply), approx": summarize(
                [o - q - a for o, q, a in zip(overhead, queue_wait, after_pipeline, strict=True)]
            ),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--preview-every", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path("bench/results/latency.json"))
    args = parser.parse_args()
    command = f"python -m bench.latency --jobs {args.jobs} --warmup {args.warmup} --size "
    command += f"{args.size} --steps {args.steps}"
    if args.preview_every is not None:
        command += f" --preview-every {args.preview_every}"
    result = {"command": command} | run(
        args.jobs, args.warmup, args.size, args.steps, args.preview_every
    )
    result["goal"] = "overhead p50 <= 5 ms, p99 <= 15 ms"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
