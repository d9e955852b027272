"""A large image-to-image upload is decoded off the event loop: other requests keep being served
while it is checked and converted (counted, not timed: how many health checks got through)."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading

import httpx
import numpy as np
from PIL import Image

from tests.helpers import Stack

SIDE = 4096  # the default SDQ_MAX_INIT_IMAGE_PIXELS is 4096²


def _large_jpeg() -> str:
    """A 4096² JPEG of smooth noise: about 1 MB to send (read at once), yet a couple of seconds
    of decoding, converting and re-encoding on this machine."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (SIDE // 64, SIDE // 64, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((SIDE, SIDE), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=50)
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
        sock.shutdown(socket.SHUT_WR)

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
    body = {"input": {"prompt": "x", "image": _large_jpeg(), "width": 64, "height": 64}}
    path = "/v1/models/sdq/tiny/predictions"  # no waiting for the job: only the decoding
    reply, answered = _post_then_count_health_checks(stack, path, json.dumps(body).encode())
    status_line, _, rest = reply.partition(b"\r\n")
    assert b" 201 " in status_line, reply[:2000]
    job_id = json.loads(rest.split(b"\r\n\r\n", 1)[1])["id"]
    with stack.http() as http:
        http.post(f"/v1/predictions/{job_id}/cancel")
    # Here: about 40 answered while the decoding blocked the loop, over 1,000 since it does not.
    assert answered >= 200, f"only {answered} health checks were answered during the decoding"
