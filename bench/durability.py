"""Benchmark: what syncing every write costs. Submits to a real `sdq up` stack (no worker) with
its embedded Redis on `appendfsync everysec` and then `always`: requests per second and latency."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

from bench.latency import summarize
from bench.scheduler import NO_WORKERS, SUBMIT_WARMUP, submit_all
from cli.client import SdqClient
from cli.embedded_redis import free_port
from cli.stack import running_stack
from sdq.settings import load_settings

COMMAND = "python -m bench.durability --requests 1000"
MODES = ("everysec", "always")


def submit_figures(mode: str, requests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(os.environ):
        for name in ("SDQ_ADMIN_KEY", "SDQ_AUTH", "SDQ_REDIS_URL", "SDQ_MODELS"):
            os.environ.pop(name, None)
        settings = load_settings(
            data_dir=Path(tmp),
            port=free_port(),
            models=[NO_WORKERS],
            redis_url=None,
            redis_appendfsync=mode,
        )
        with running_stack(settings) as (info, _):
            SdqClient(info.url).wait_ready(timeout_s=120)
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
