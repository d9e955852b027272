"""Checks before `sdq up` and `sdq api` start: a free port, a data dir no other stack holds."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = "sdq.lock"


class PreflightFailed(Exception):
    """Starting would fail or harm another instance; the message says why in one line."""


def bind_listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (as uvicorn binds: SO_REUSEADDR), or PreflightFailed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as error:
        sock.close()
        reason = (
            "is already in use"
            if error.errno == errno.EADDRINUSE
            else f"cannot be bound ({error.strerror})"
        )
        raise PreflightFailed(
            f"port {port} on {host} {reason}; is another sdq running? Choose one with --port"
        ) from None
    sock.set_inheritable(True)
    return sock


def check_port_free(host: str, port: int) -> None:
    bind_listener(host, port).close()


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Hold `DATA_DIR/sdq.lock` while the stack runs, so two stacks never share one Redis AOF.
    The lock goes with this process (children do not inherit it), however it ends."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            raise PreflightFailed(
                f"data dir {data_dir} is in use by another sdq up (pid {holder}); "
                "stop it or choose another with --data-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)
