"""Benchmark reference: the round trip of a raw Celery no-op task on a given Redis (send, a
prefork worker runs it, the client has its result), the floor the platform overhead is judged
against on the machine at hand (issue 18 quotes ~2 ms p50 beside its 5 ms goal)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.celery_noop_app import TASK, make_app
from bench.stats import summarize
from cli.embedded_redis import EmbeddedRedis

WARMUP = 10


def round_trips(redis_url: str, count: int) -> list[float]:
    """`count` sequential no-op round trips (after a warm-up) against a Celery worker started
    here on `redis_url` and stopped after."""
    env = os.environ | {"CELERY_NOOP_REDIS_URL": redis_url}
    argv = [sys.executable, "-m", "celery", "-A", "bench.celery_noop_app", "worker"]
    argv += ["--pool", "prefork", "--concurrency", "1", "--loglevel", "WARNING", "--without-gossip"]
    argv += ["--without-mingle", "--without-heartbeat"]
    worker = subprocess.Popen(argv, env=env)
    app = make_app(redis_url)
    try:
        app.send_task(TASK).get(timeout=120)  # the worker is up
        times: list[float] = []
        for index in range(WARMUP + count):
            started = time.perf_counter()
            app.send_task(TASK).get(timeout=30)
            if index >= WARMUP:
                times.append(time.perf_counter() - started)
        return times
    finally:
        app.close()
        worker.terminate()
        worker.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("bench/results/celery_round_trip.json"))
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as data_dir,
        EmbeddedRedis(Path(data_dir)) as redis,
    ):
        times = round_trips(redis.url, args.count)
    result = {
        "benchmark": "raw Celery no-op round trip (prefork, 1 child, Redis broker and backend)",
        "command": f"python -m bench.celery_round_trip --count {args.count}",
        "round_trip": summarize(times),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
