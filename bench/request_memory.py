"""Benchmark: the memory one hostile request makes an API process hold. For each worst-case
request of the table, starts `sdq up` afresh (embedded Redis, no worker; so that no earlier
request's memory hides this one's), sends it, and samples the API process's resident memory
every 5 ms: its peak above the level before, the time, the answer."""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import platform
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from PIL import Image

from bench.bare_stack import bare_stack

COMMAND = "python -m bench.request_memory"
MiB = 1 << 20


@dataclass
class PeakMemory:
    """Samples a process's resident memory in a thread until stopped; keeps the highest."""

    process: psutil.Process
    peak: int = 0
    stopped: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self.stopped.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.005)


def raw(port: int, head: bytes, filler: bytes, total: int) -> str:
    """Send `head`, then `filler` until `total` bytes or the server closes; its status line."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head)
        sent = 0
        try:
            while sent < total:
                sock.sendall(filler)
                sent += len(filler)
        except OSError:
            pass
        sock.settimeout(10)
        try:
            return sock.recv(200).split(b"\r\n")[0].decode("latin-1")
        except OSError as error:
            return type(error).__name__


def post(port: int, path: str, body: bytes) -> str:
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
        answer = client.post(path, content=body, headers=headers)
    return f"{answer.status_code} {answer.text[:100]}"


def png(width: int, height: int, mode: str = "RGBA") -> str:
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def native(inputs: dict[str, Any]) -> bytes:
    return json.dumps({"model": "sdq/tiny", "input": {"prompt": "x", **inputs}}).encode()


def junk(item: bytes, size: int) -> bytes:
    """A native create whose input carries a `size`-byte array of `item`s."""
    items = item * (size // len(item) - 40)
    return b'{"model":"sdq/tiny","input":{"prompt":"x","junk":[' + items.rstrip(b",") + b"]}}"


def cases(port: int) -> dict[str, Callable[[], str]]:
    get = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    chunked = (
        b"POST /v1/predictions HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    return {
        "one 100 MiB header": lambda: raw(port, get + b"X-Big: ", b"a" * MiB, 100 * MiB),
        "50 MiB of small headers": lambda: raw(port, get, b"X-A: b\r\n" * (MiB // 8), 50 * MiB),
        "a 100 MiB URL": lambda: raw(port, b"GET /v1/predictions?a=", b"a" * MiB, 100 * MiB),
        "200 MiB chunked body": lambda: raw(
            port, chunked, b"100000\r\n" + b"a" * MiB + b"\r\n", 200 * MiB
        ),
        "20 MiB JSON of {}": lambda: post(port, "/v1/predictions", junk(b"{},", 20 * MiB)),
        "20 MiB JSON of short strings": lambda: post(
            port, "/v1/predictions", junk(b'"ab",', 20 * MiB)
        ),
        "starting image 4096x4096": lambda: post(
            port, "/v1/predictions", native({"image": png(4096, 4096)})
        ),
        "starting image 20000x20000 (a bomb)": lambda: post(
            port, "/v1/predictions", native({"image": png(20000, 20000, "L")})
        ),
    }


def measure(name: str, port: int, pid: int) -> dict[str, Any]:
    process = psutil.Process(pid)
    before = process.memory_info().rss
    peak = PeakMemory(process)
    started = time.monotonic()
    answer = cases(port)[name]()
    took = time.monotonic() - started
    time.sleep(0.5)
    peak.stopped.set()
    over = round((peak.peak - before) / MiB, 1)
    print(f"{name:38s} +{over:7.1f} MiB {took:6.2f} s  {answer}", flush=True)
    return {
        "request": name,
        "peak_over_before_mib": over,
        "seconds": round(took, 2),
        "answer": answer,
    }


def on_a_fresh_api(name: str) -> dict[str, Any]:
    with bare_stack() as (info, supervisor):
        pid = supervisor.pid("api")
        assert pid is not None, "the API runs"
        return measure(name, int(info.url.rsplit(":", 1)[1]), pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results/request_memory.json"))
    args = parser.parse_args()
    rows = [on_a_fresh_api(name) for name in cases(0)]
    result = {
        "command": COMMAND,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "requests": rows,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
