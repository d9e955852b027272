"""A light closed-loop HTTP/1.1 load generator: C keep-alive connections on raw asyncio
streams send one request each at a time, N in all (light, so that on a small machine the
server, not the generator, has the CPU)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Tally:
    """What the run saw: each answer's latency and the count of each status."""

    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def per_s(self) -> float:
        return len(self.latencies_s) / self.elapsed_s if self.elapsed_s else 0.0


def post_request(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The bytes of one keep-alive POST of `body` to `url` as JSON."""
    parts = urlsplit(url)
    head = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _connection(host: str, port: int, request: bytes, left: list[int], tally: Tally) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while left[0] > 0:
            left[0] -= 1
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            tally.latencies_s.append(time.perf_counter() - started)
            status = int(head[9:12])
            tally.statuses[status] = tally.statuses.get(status, 0) + 1
    finally:
        writer.close()


async def closed_loop(url: str, request: bytes, requests: int, connections: int) -> Tally:
    """Send `request` `requests` times over `connections` connections, each waiting for its
    answer before it sends again."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None, url
    left, tally = [requests], Tally()
    started = time.perf_counter()
    await asyncio.gather(
        *(_connection(parts.hostname, parts.port, request, left, tally) for _ in range(connections))
    )
    tally.elapsed_s = time.perf_counter() - started
    return tally
