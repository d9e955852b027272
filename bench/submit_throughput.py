"""Benchmark: submissions per second of sdq's API (no workers: the jobs stay queued) against a
bare FastAPI endpoint doing one async Redis write, one uvicorn process each, on the same Redis,
driven alike by one closed-loop load generator, in alternating rounds."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from bench.bare_stack import NO_WORKERS, bare_stack
from bench.closed_loop import Tally, closed_loop, post_request
from bench.stats import summarize
from cli.embedded_redis import free_port

PATH = "/v1/models/sdq/tiny/predictions"
BODY = {"input": {"prompt": "a pretty dog", "width": 64, "height": 64, "num_inference_steps": 2}}
WARMUP = 300


def start_bare(redis_url: str, port: int) -> subprocess.Popen[bytes]:
    """uvicorn serving bench.bare_submit_app on `port`, once it accepts connections."""
    argv = [sys.executable, "-m", "uvicorn", "bench.bare_submit_app:app", "--port", str(port)]
    argv += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    process = subprocess.Popen(argv, env=os.environ | {"BARE_REDIS_URL": redis_url})
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the bare app did not start") from None
            time.sleep(0.1)


def cpu_s(server: psutil.Process) -> float:
    """CPU seconds (user and system) the server process has used so far."""
    times = server.cpu_times()
    return float(times.user + times.system)


def drive(url: str, requests: int, connections: int, server: psutil.Process) -> tuple[Tally, float]:
    """The round's tally, and the server's CPU milliseconds per request over it (far less
    sensitive than requests/s to other load on the machine)."""
    request = post_request(url, json.dumps(BODY).encode(), {})
    before = cpu_s(server)
    tally = asyncio.run(closed_loop(url, request, requests, connections))
    cpu_ms = (cpu_s(server) - before) * 1000 / requests
    if set(tally.statuses) != {201}:
        raise RuntimeError(f"{url} answered {tally.statuses}")
    return tally, cpu_ms


def side(rounds: list[tuple[Tally, float]]) -> dict[str, Any]:
    tallies = [tally for tally, _ in rounds]
    return {
        "per_s_each_round": [round(tally.per_s, 1) for tally in tallies],
        "per_s_median": round(statistics.median(tally.per_s for tally in tallies), 1),
        "cpu_ms_per_request_each_round": [round(cpu_ms, 3) for _, cpu_ms in rounds],
        "cpu_ms_per_request_median": round(statistics.median(cpu_ms for _, cpu_ms in rounds), 3),
        "latency": summarize([s for tally in tallies for s in tally.latencies_s]),
    }


def run(requests: int, connections: int, rounds: int) -> dict[str, Any]:
    with bare_stack(models=[NO_WORKERS]) as (info, supervisor):
        port = free_port()
        bare = start_bare(info.redis_url, port)
        try:
            api_pid = supervisor.pid("api")
            assert api_pid is not None, "the stack's API is not running"
            sides = {
                "bare": (f"http://127.0.0.1:{port}{PATH}", psutil.Process(bare.pid)),
                "sdq": (info.url + PATH, psutil.Process(api_pid)),
            }
            for url, server in sides.values():
                drive(url, WARMUP, connections, server)
            measured: dict[str, list[tuple[Tally, float]]] = {name: [] for name in sides}
            for _ in range(rounds):  # alternating, so that drift weighs on both alike
                for name, (url, server) in sides.items():
                    measured[name].append(drive(url, requests, connections, server))
        finally:
            bare.terminate()
            bare.wait(timeout=30)
    result = {name: side(values) for name, values in measured.items()}
    ratio = result["sdq"]["per_s_median"] / result["bare"]["per_s_median"]
    cpu_ratio = (
        result["bare"]["cpu_ms_per_request_median"] / result["sdq"]["cpu_ms_per_request_median"]
    )
    return result | {"ratio": round(ratio, 3), "cpu_ratio": round(cpu_ratio, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="per round and side")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/results/submit_throughput.json"))
    args = parser.parse_args()
    result: dict[str, Any] = {
        "benchmark": "closed-loop POST /v1/models/sdq/tiny/predictions: sdq (no workers) vs a bare "
        "FastAPI endpoint doing one async Redis SET; one uvicorn process each, same Redis",
        "command": f"python -m bench.submit_throughput --requests {args.requests} "
        f"--connections {args.connections} --rounds {args.rounds}",
        "machine": {
            "cpus": os.cpu_count(),
            "arch": platform.machine(),
            "python": platform.python_version(),
        },
        "goal": "sdq >= 0.5 x bare",
        "ratio_is": "sdq req/s / bare req/s; cpu_ratio: bare CPU ms per request / sdq's",
    } | run(args.requests, args.connections, args.rounds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
