"""Benchmark: how soon a `completed` webhook reaches a loopback receiver after the job finishes."""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from bench.latency import WARM_TINY, wait_for_a_worker
from bench.stats import summarize
from cli.embedded_redis import free_port
from cli.stack import running_stack
from sdq.settings import load_settings


def run(jobs: int) -> dict[str, Any]:
    arrivals: dict[str, float] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            arrivals[json.loads(body)["id"]] = time.time()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
    delays: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp), port=free_port(), models=[WARM_TINY])
        with (
            running_stack(settings) as (info, _),
            httpx.Client(base_url=info.url, timeout=120) as http,
        ):
            wait_for_a_worker(http)
            for _ in range(jobs):
                body = {
                    "model": "sdq/tiny",
                    "input": {
                        "prompt": "hook",
                        "width": 64,
                        "height": 64,
                        "num_inference_steps": 4,
                    },
                    "webhook": hook,
                    "webhook_events_filter": ["completed"],
                }
                done = http.post("/v1/predictions", json=body, headers={"Prefer": "wait=60"}).json()
                while done["id"] not in arrivals:
                    time.sleep(0.001)
                finished = http.get(f"/v1/predictions/{done['id']}").json()
                completed_at = datetime.fromisoformat(finished["completed_at"]).timestamp()
                delays.append(arrivals[done["id"]] - completed_at)
    server.shutdown()
    return {
        "benchmark": "completed webhook delay after the terminal write",
        "jobs": jobs,
        "delay": summarize(delays),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("bench/results/webhook_latency.json"))
    args = parser.parse_args()
    result = run(args.jobs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
