"""A webhook receiver on loopback: refuses the first deliveries the plan says, records the rest."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chaos.verdict import TERMINAL, Delivery


class Receiver:
    """POST /hook/<job index>: answers 503 to the first `refusals[index]` deliveries, else 204,
    and keeps each accepted delivery whose body is a terminal prediction by prediction id."""

    def __init__(self, refusals: dict[int, int]) -> None:
        self._refusals = dict(refusals)
        self._lock = threading.Lock()
        self.completed: dict[str, list[Delivery]] = defaultdict(list)
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = receiver.take(self.path, self.headers.get("webhook-id", ""), body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.port}/hook/{index}"

    def take(self, path: str, webhook_id: str, body: bytes) -> int:
        """The answer to one delivery (recorded when it is accepted)."""
        index = int(path.rstrip("/").rsplit("/", 1)[-1])
        with self._lock:
            if self._refusals.get(index, 0) > 0:
                self._refusals[index] -= 1
                self.refused += 1
                return 503
            prediction = json.loads(body)
            if prediction.get("status") in TERMINAL:
                self.completed[prediction["id"]].append(Delivery(webhook_id, prediction["status"]))
        return 204

    def start(self) -> Receiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def snapshot(self) -> dict[str, list[Delivery]]:
        with self._lock:
            return {job_id: list(got) for job_id, got in self.completed.items()}
