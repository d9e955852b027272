"""Echoing the stack's log files on the terminal (`--log-level debug`): every new line of each
DATA_DIR/logs/*.log, files that appear later included, prefixed with the file's name."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path


class LogFollower:
    """Polls a folder's `*.log` files and writes what was appended since, line by line, to the
    current `sys.stderr` (so that a rich status line on a terminal stays below them)."""

    def __init__(self, folder: Path, interval_s: float = 0.2) -> None:
        self._folder = folder
        self._interval_s = interval_s
        self._offsets: dict[Path, int] = {}
        self._partial: dict[Path, bytes] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-follower", daemon=True)

    def start(self) -> LogFollower:
        """Follow from now on: what the files already hold (earlier runs) is not repeated."""
        for path in self._folder.glob("*.log"):
            self._offsets[path] = path.stat().st_size
        self._thread.start()
        return self

    def stop(self) -> None:
        """Echo what is left, the last unterminated lines included, and stop."""
        self._stop.set()
        self._thread.join()
        self.poll()
        for path, rest in self._partial.items():
            if rest:
                self._echo(path, rest)
        self._partial.clear()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.poll()

    def poll(self) -> None:
        for path in sorted(self._folder.glob("*.log")):
            offset = self._offsets.get(path, 0)
            try:
                with path.open("rb") as file:
                    if file.seek(0, 2) < offset:  # truncated or replaced: from the start
                        offset = 0
                    file.seek(offset)
                    chunk = file.read()
            except OSError:
                continue
            self._offsets[path] = offset + len(chunk)
            lines = (self._partial.pop(path, b"") + chunk).split(b"\n")
            self._partial[path] = lines.pop()
            for line in lines:
                self._echo(path, line)

    @staticmethod
    def _echo(path: Path, line: bytes) -> None:
        text = line.decode("utf-8", "replace").rstrip("\r")
        sys.stderr.write(f"{path.stem} | {text}\n")
        sys.stderr.flush()


@contextlib.contextmanager
def following(folder: Path) -> Iterator[None]:
    """Echo the folder's log lines while the block runs, and what they hold at its end."""
    folder.mkdir(parents=True, exist_ok=True)
    follower = LogFollower(folder).start()
    try:
        yield
    finally:
        follower.stop()
