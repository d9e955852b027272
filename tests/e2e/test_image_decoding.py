"""A large image-to-image upload is decoded off the event loop: other requests keep being served
while it is checked (counted, not timed: how many health checks got through)."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from cli.embedded_redis import EmbeddedRedis
from tests.helpers import Stack, started_api

SIDE = 8192  # four times the default SDQ_MAX_INIT_IMAGE_PIXELS (4096²), which this API takes


@pytest.fixture(scope="module")
def stack(
    redis_server: EmbeddedRedis, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The API alone (the job is canceled unrun), taking images of up to SIDE² pixels."""
    logs = tmp_path_factory.mktemp("logs")
    limits = {"SDQ_MAX_INIT_IMAGE_PIXELS": str(SIDE * SIDE)}
    with started_api(redis_server.url, data_dir, logs, **limits) as running:
        yield running


def _large_webp() -> str:
    """An 8192² WebP of smooth noise: about 1.3 MB to send (read at once), yet about a second of
    decoding on this machine (WebP decodes slowest for its size)."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (SIDE // 64, SIDE // 64, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((SIDE, SIDE), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=50, method=0)
    return base64.b64encode(buffer.getvalue()).decode()


def _post_then_count_health_checks(stack: Stack, path: str, body: bytes) -> tuple[bytes, int]:
    """Send the whole request first, then count the health checks answered one after another
    until its answer arrives: what the server does meanwhile is the decoding, not the upload."""
    host, port = stack.url.removeprefix("http://").split(":")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    reply = bytearray()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(head + body)

        def read() -> None:
            while chunk := sock.recv(65536):
                reply.extend(chunk)

        reader = threading.Thread(target=read)
        reader.start()
        answered = 0
        with httpx.Client(base_url=stack.url, timeout=30) as http:
            while not reply and reader.is_alive():
                if http.get("/healthz").status_code == 200:
                    answered += 1
        reader.join(timeout=60)
    return bytes(reply), answered


def test_other_requests_are_served_while_a_large_init_image_is_decoded(stack: Stack) -> None:
    body = {"input": {"prompt": "x", "image": _large_webp(), "width": 64, "height": 64}}
    path = "/v1/models/sdq/tiny/predictions"  # no waiting for the job: only the decoding
    reply, answered = _post_then_count_health_checks(stack, path, json.dumps(body).encode())
    status_line, _, rest = reply.partition(b"\r\n")
    assert b" 201 " in status_line, reply[:2000]
    job_id = json.loads(rest.split(b"\r\n\r\n", 1)[1])["id"]
    with stack.http() as http:
        http.post(f"/v1/predictions/{job_id}/cancel")
    # Here: about 50 answered when the decoding blocked the loop, over 1,200 off it (the client
    # keeps its side open: a half-closed one is taken for gone and gets no answer).
    assert answered >= 200, f"only {answered} health checks were answered during the decoding"
