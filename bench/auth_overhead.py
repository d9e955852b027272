"""Benchmark: what API keys add to a request: `GET /v1/predictions/{id}` open, with a client
key (a Redis lookup at most once a second per key) and with the bootstrap key (no lookup)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

import httpx

from bench.stats import summarize
from cli.client import SdqClient
from cli.embedded_redis import free_port
from cli.stack import running_stack
from sdq.settings import SYNTHETIC_MODEL_ID, ModelSpec, load_settings

ADMIN_KEY = "bench-bootstrap-admin-key-0123456789abcdef"
COMMAND = "python -m bench.auth_overhead --requests 2000"
ROUNDS = 10


def timed_gets(
    http: httpx.Client, path: str, requests: int, headers: dict[str, str]
) -> list[float]:
    for _ in range(20):  # warm the connection and the key cache
        http.get(path, headers=headers)
    took = []
    for _ in range(requests):
        started = time.perf_counter()
        response = http.get(path, headers=headers)
        took.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return took


def measure(requests: int, keyed: bool) -> dict[str, dict[str, float]]:
    # The stack's children take their settings from the environment, as under `sdq up`.
    environ = {"SDQ_ADMIN_KEY": ADMIN_KEY} if keyed else {}
    with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(os.environ, environ):
        if not keyed:
            os.environ.pop("SDQ_ADMIN_KEY", None)
        settings = load_settings(
            data_dir=Path(tmp), port=free_port(), models=[ModelSpec(id=SYNTHETIC_MODEL_ID)]
        )
        with (
            running_stack(settings) as (info, _),
            httpx.Client(base_url=info.url, timeout=30) as http,
        ):
            SdqClient(info.url).wait_ready(timeout_s=120)
            admin = {"Authorization": f"Bearer {ADMIN_KEY}"} if keyed else {}
            body = {"model": SYNTHETIC_MODEL_ID, "input": {"prompt": "bench"}}
            job = http.post("/v1/predictions", json=body, headers=admin).json()  # stays queued
            path = f"/v1/predictions/{job['id']}"
            if not keyed:
                return {"open": summarize(timed_gets(http, path, requests, {}))}
            client = http.post("/v1/admin/keys", json={"name": "bench"}, headers=admin).json()
            bearer = {"Authorization": f"Bearer {client['key']}"}
            job = http.post("/v1/predictions", json=body, headers=bearer).json()
            path = f"/v1/predictions/{job['id']}"
            # Interleaved rounds, so that drift over the run weighs on both alike.
            took: dict[str, list[float]] = {"client_key": [], "bootstrap_key": []}
            for _ in range(ROUNDS):
                took["client_key"] += timed_gets(http, path, requests // ROUNDS, bearer)
                took["bootstrap_key"] += timed_gets(http, path, requests // ROUNDS, admin)
            return {name: summarize(values) for name, values in took.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("bench/results/auth_overhead.json"))
    args = parser.parse_args()
    result: dict[str, Any] = {
        "benchmark": "sequential GET /v1/predictions/{id} over loopback (client-measured)",
        "command": COMMAND.replace("2000", str(args.requests)),
        "requests": args.requests,
        "machine": {"cpus": platform.machine(), "python": platform.python_version()},
        "latency": measure(args.requests, keyed=False) | measure(args.requests, keyed=True),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
