"""Benchmark: what syncing every write costs. Submits to a real `sdq up` stack (no worker) with
its embedded Redis on `appendfsync everysec` and then `always`: requests per second and latency."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
from pathlib import Path
from typing import Any

from bench.bare_stack import bare_stack
from bench.scheduler import SUBMIT_WARMUP, submit_all
from bench.stats import summarize

COMMAND = "python -m bench.durability --requests 1000"
MODES = ("everysec", "always")


def submit_figures(mode: str, requests: int) -> dict[str, Any]:
    with bare_stack(redis_appendfsync=mode) as (info, _):
        asyncio.run(submit_all(info.url, SUBMIT_WARMUP))
        took, wall = asyncio.run(submit_all(info.url, requests))
    return {"requests_per_s": round(requests / wall, 1), "latency": summarize(took)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("bench/results/durability.json"))
    args = parser.parse_args()
    result = {
        "command": COMMAND,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "disk": "the data dir's filesystem (a temporary folder)",
        "concurrency": 16,
        "modes": {mode: submit_figures(mode, args.requests) for mode in MODES},
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
