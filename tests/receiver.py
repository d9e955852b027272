"""A real HTTP webhook receiver on loopback for tests: scripted answers, every request recorded."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """Answers each path from its script of (status, headers); the last entry repeats."""

    port: int = 0
    scripts: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def script(self, path: str, *answers: int | tuple[int, dict[str, str]]) -> str:
        self.scripts[path] = [a if isinstance(a, tuple) else (a, {}) for a in answers]
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                path = self.path.split("?", 1)[0]
                receiver.requests.append(
                    Received(
                        path, {k.lower(): v for k, v in self.headers.items()}, body, time.time()
                    )
                )
                script = receiver.scripts.get(path) or [(200, {})]
                status, headers = script.pop(0) if len(script) > 1 else script[0]
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]
