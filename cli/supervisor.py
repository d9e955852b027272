"""Supervising the processes of one machine's stack: start, restart with backoff, stop in order."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sdq.child_process import own_session_dying_with_parent

log = logging.getLogger(__name__)


def restart_delay(consecutive_failures: int, base_s: float = 0.5, cap_s: float = 30.0) -> float:
    """Pure: exponential backoff before restarting a process that keeps failing."""
    return float(min(cap_s, base_s * 2 ** max(0, consecutive_failures - 1)))


STABLE_AFTER_S = 60.0


@dataclass
class ProcessSpec:
    name: str
    argv: Sequence[str]
    env: dict[str, str] = field(default_factory=dict)
    # Blocks until the first start serves (raises if it cannot): the next processes need it.
    ready: Callable[[subprocess.Popen[bytes]], None] | None = None
    # Stopped after every other process has exited (the Redis the others drain into).
    stop_last: bool = False


@dataclass
class _Child:
    spec: ProcessSpec
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None


class Supervisor:
    """Keeps each process running; `stop()` sends SIGTERM to all and waits (warm shutdown)."""

    def __init__(
        self, specs: Sequence[ProcessSpec], base_env: dict[str, str], log_dir: Path | None = None
    ) -> None:
        self._children = [_Child(spec) for spec in specs]
        self._base_env = base_env
        self._log_dir = log_dir  # each child's stdout and stderr go to NAME.log there, appended
        self.stopping = False

    def start(self) -> None:
        """Start each process in order, waiting for those with a `ready` check."""
        for child in self._children:
            self._spawn(child)
            if child.spec.ready is not None and child.process is not None:
                child.spec.ready(child.process)

    def _spawn(self, child: _Child) -> None:
        env = os.environ | self._base_env | child.spec.env
        with contextlib.ExitStack() as files:
            output = None
            if self._log_dir is not None:
                self._log_dir.mkdir(parents=True, exist_ok=True)
                output = files.enter_context(self.log_path(child.spec.name).open("ab"))
            child.process = subprocess.Popen(
                list(child.spec.argv),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                preexec_fn=own_session_dying_with_parent,
            )
        child.started_at = time.monotonic()
        child.restart_at = None
        log.info("started %s (pid %d)", child.spec.name, child.process.pid)

    def log_path(self, name: str) -> Path:
        """Where the named child's output goes (with a log dir)."""
        assert self._log_dir is not None
        return self._log_dir / f"{name}.log"

    def pid(self, name: str) -> int | None:
        """The pid of the named child while it runs."""
        for child in self._children:
            if child.spec.name == name and child.process and child.process.poll() is None:
                return child.process.pid
        return None

    def tick(self, now: float | None = None) -> None:
        """Restart children that exited, after their backoff delay."""
        now = time.monotonic() if now is None else now
        for child in self._children:
            if self.stopping:
                return
            proc = child.process
            if proc is not None and proc.poll() is not None and child.restart_at is None:
                lived = now - child.started_at
                child.failures = 1 if lived >= STABLE_AFTER_S else child.failures + 1
                delay = restart_delay(child.failures)
                child.restart_at = now + delay
                where = f" (its log: {self.log_path(child.spec.name)})" if self._log_dir else ""
                log.warning(
                    "%s exited with code %s after %.1f s; restarting in %.1f s%s",
                    child.spec.name, proc.returncode, lived, delay, where,
                )  # fmt: skip
            if child.restart_at is not None and now >= child.restart_at:
                self._spawn(child)

    def stop(self, grace_s: float, last_grace_s: float = 10.0) -> None:
        """SIGTERM every child and wait up to `grace_s` for all, then SIGKILL what is left; the
        `stop_last` children only then, with `last_grace_s`."""
        self.stopping = True
        for last, grace in ((False, grace_s), (True, last_grace_s)):
            self._stop_group([c for c in self._children if c.spec.stop_last is last], grace)

    def _stop_group(self, children: list[_Child], grace_s: float) -> None:
        running = [c.process for c in children if c.process and c.process.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        try:
            for proc in running:
                try:
                    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting, leave nothing behind
            for child in self._children:
                if child.process and child.process.poll() is None:
                    child.process.kill()
            raise
