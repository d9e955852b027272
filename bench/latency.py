"""Benchmark: end-to-end latency vs pipeline time of sequential tiny jobs on a warm worker."""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import redis

from bench.celery_round_trip import round_trips as celery_round_trips
from bench.stats import summarize
from cli.embedded_redis import free_port
from cli.stack import running_stack
from sdq.scaling_policy import ScalingPolicy
from sdq.settings import ModelSpec, load_settings

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


def command_counts(client: redis.Redis) -> dict[str, int]:
    """Redis's count of each command run so far (INFO commandstats), by command name."""
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(stat["calls"]) for name, stat in stats.items()}


def commands_per_job(before: dict[str, int], after: dict[str, int], jobs: int) -> dict[str, float]:
    """Redis commands run per job between two `command_counts`, every process's (API, worker,
    Celery, scaler, webhooks), busiest first, and their total (a script's own calls included)."""
    delta = {name: after[name] - before.get(name, 0) for name in after}
    per_job = {name: round(count / jobs, 2) for name, count in delta.items() if count}
    ordered = dict(sorted(per_job.items(), key=lambda item: -item[1]))
    return {"total": round(sum(delta.values()) / jobs, 2)} | ordered


class RoundTrips:
    """Counts the commands clients send Redis (MONITOR; a script's own calls left out), by name,
    while running (MONITOR slows Redis: for counting runs only, not for timing). The stack's
    background rate (heartbeats, idle BRPOP/BLPOP timeouts, scaler polls) is measured first, for
    `idle_s` with no job, and taken off: what is left is what the jobs sent."""

    def __init__(self, url: str, idle_s: float = 10.0) -> None:
        self.counts: Counter[str] = Counter()
        self._client = redis.Redis.from_url(url, decode_responses=True)
        self._monitor = self._client.monitor().__enter__()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        time.sleep(idle_s)
        self._idle = Counter(self.counts)
        self._idle_s = idle_s
        self._started = time.monotonic()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                command = self._monitor.next_command()
            except (redis.ConnectionError, OSError):
                return
            if command and command["client_type"] != "lua":
                self.counts[command["command"].split(" ", 1)[0].strip('"').upper()] += 1

    def stop(self, jobs: int) -> dict[str, float]:
        elapsed = time.monotonic() - self._started
        self._stop.set()
        self._client.connection_pool.disconnect()
        self._thread.join(timeout=5)
        scale = elapsed / self._idle_s
        net = {
            name: (count - self._idle[name]) - self._idle[name] * scale
            for name, count in self.counts.items()
        }
        ordered = {
            name: round(count / jobs, 2)
            for name, count in sorted(net.items(), key=lambda item: -item[1])
            if round(count / jobs, 1) != 0
        }
        return {"total": round(sum(net.values()) / jobs, 2)} | ordered


def run(
    jobs: int,
    warmup: int,
    size: int,
    steps: int,
    preview_every: int | None = None,
    round_trips: bool = False,
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
            counter = redis.Redis.from_url(info.redis_url)
            end_to_end: list[float] = []
            predict: list[float] = []
            queue_wait: list[float] = []
            after_pipeline: list[float] = []
            before: dict[str, int] = {}
            monitor: RoundTrips | None = None
            for index in range(warmup + jobs):
                if index == warmup:
                    before = command_counts(counter)
                    monitor = RoundTrips(info.redis_url) if round_trips else None
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
            redis_commands = commands_per_job(before, command_counts(counter), jobs)
            sent = monitor.stop(jobs) if monitor else None
            counter.close()
            # The floor on this machine: a raw Celery no-op round trip on the same Redis.
            celery_floor = celery_round_trips(info.redis_url, jobs)
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
        "reference: raw Celery no-op round trip, same Redis (bench.celery_round_trip)": summarize(
            celery_floor
        ),
        "overhead_parts": {
            "queue_wait (created -> claimed by the worker)": summarize(queue_wait),
            "worker bookkeeping (claim to pipeline start, PNG, storage, terminal write)": summarize(
                after_pipeline
            ),
            "response (terminal write -> client has the reply), approx": summarize(
                [o - q - a for o, q, a in zip(overhead, queue_wait, after_pipeline, strict=True)]
            ),
        },
        "redis_commands_per_job (all processes, INFO commandstats)": redis_commands,
        "redis_commands_sent_per_job (MONITOR, less the idle rate; --round-trips)": sent,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--preview-every", type=int, default=None)
    parser.add_argument(
        "--round-trips", action="store_true", help="count commands sent (slows Redis: no timing)"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/latency.json"))
    args = parser.parse_args()
    command = f"python -m bench.latency --jobs {args.jobs} --warmup {args.warmup} --size "
    command += f"{args.size} --steps {args.steps}"
    if args.preview_every is not None:
        command += f" --preview-every {args.preview_every}"
    if args.round_trips:
        command += " --round-trips"
    result = {"command": command} | run(
        args.jobs, args.warmup, args.size, args.steps, args.preview_every, args.round_trips
    )
    result["goal"] = "overhead p50 <= 5 ms, p99 <= 15 ms"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
