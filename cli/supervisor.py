"""Supervising the processes of one machine's stack: start, restart with backoff, stop in order."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

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


@dataclass
class _Child:
    spec: ProcessSpec
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None


class Supervisor:
    """Keeps each process running; `stop()` sends SIGTERM to all and waits (warm shutdown)."""

    def __init__(self, specs: Sequence[ProcessSpec], base_env: dict[str, str]) -> None:
        self._children = [_Child(spec) for spec in specs]
        self._base_env = base_env
        self.stopping = False

    def start(self) -> None:
        for child in self._children:
            self._spawn(child)

    def _spawn(self, child: _Child) -> None:
        env = os.environ | self._base_env | child.spec.env
        child.process = subprocess.Popen(
            list(child.spec.argv),
            env=env,
            stdin=subprocess.DEVNULL,
            preexec_fn=own_session_dying_with_parent,
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        log.info("started %s (pid %d)", child.spec.name, child.process.pid)

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
                log.warning(
                    "%s exited with code %s after %.1f s; restarting in %.1f s",
                    child.spec.name, proc.returncode, lived, delay,
                )  # fmt: skip
            if child.restart_at is not None and now >= child.restart_at:
                self._spawn(child)

    def stop(self, grace_s: float) -> None:
        """SIGTERM every child, wait up to `grace_s` for all, then SIGKILL what is left."""
        self.stopping = True
        running = [c.process for c in self._children if c.process and c.process.poll() is None]
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
            for proc in running:
                proc.kill()
            raise
