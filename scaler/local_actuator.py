"""Worker processes on this machine as the actuator: start `sdq worker`s, stop only idle ones."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scaler.actuator import Replicas
from sdq.child_process import own_session_dying_with_parent

log = logging.getLogger(__name__)


@dataclass
class LocalWorker:
    name: str  # the worker-id prefix its heartbeats carry (SDQ_WORKER_ID)
    process: subprocess.Popen[bytes]
    stopping: bool = False
    gpu: str | None = None
    log: Path | None = None


@dataclass
class LocalActuator:
    """Each model's workers are child processes; scale-in sends SIGTERM (warm shutdown) to
    workers that are not busy, and to none that is."""

    env: dict[str, str]
    log_dir: Path | None = None
    argv: Sequence[str] = (sys.executable, "-m", "cli", "worker")
    slots: dict[str, int | None] = field(default_factory=dict)  # per model; absent: no limit
    gpus: Sequence[str] = ()  # each diffusers worker is pinned to one free GPU
    synthetic: frozenset[str] = frozenset()  # models whose workers need no GPU
    workers: dict[str, list[LocalWorker]] = field(default_factory=dict)
    _serial: itertools.count[int] = field(default_factory=itertools.count)

    def _alive(self, model_id: str) -> list[LocalWorker]:
        alive = [w for w in self.workers.get(model_id, []) if w.process.poll() is None]
        self.workers[model_id] = alive
        return alive

    def capacity(self, model_id: str) -> int | None:
        return self.slots.get(model_id)

    def _free_gpu(self) -> str | None:
        used = {
            w.gpu for ws in self.workers.values() for w in ws if w.process.poll() is None and w.gpu
        }
        return next((gpu for gpu in self.gpus if gpu not in used), None)

    def replicas(self, model_id: str) -> Replicas:
        running = [w for w in self._alive(model_id) if not w.stopping]
        return Replicas(len(running), len(running))

    def scale(self, model_id: str, desired: int, busy_worker_ids: frozenset[str]) -> None:
        running = [w for w in self._alive(model_id) if not w.stopping]
        if desired > len(running):
            for _ in range(desired - len(running)):
                self.workers[model_id].append(self._start(model_id))
            return
        busy = {w.name for w in running if any(b.startswith(f"{w.name}:") for b in busy_worker_ids)}
        # Newest idle first: the older ones are likelier to be warm and loaded.
        idle = [w for w in reversed(running) if w.name not in busy]
        for worker in idle[: len(running) - desired]:
            log.info("stopping idle worker %s of %s", worker.name, model_id)
            worker.stopping = True
            worker.process.send_signal(signal.SIGTERM)

    def _start(self, model_id: str) -> LocalWorker:
        name = f"local-{os.getpid()}-{next(self._serial)}"
        env = os.environ | self.env | {"SDQ_WORKER_ID": name}
        gpu = None if model_id in self.synthetic else self._free_gpu()
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpu
        log_path = self._free_log_path(model_id) if self.log_dir else None
        with contextlib.ExitStack() as files:
            output = files.enter_context(log_path.open("ab")) if log_path else None
            process = subprocess.Popen(
                [*self.argv, "--model", model_id],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                preexec_fn=own_session_dying_with_parent,
            )
        where = f" on GPU {gpu}" if gpu is not None else ""
        log.info("started worker %s for %s%s (pid %d)", name, model_id, where, process.pid)
        return LocalWorker(name, process, gpu=gpu, log=log_path)

    def _free_log_path(self, model_id: str) -> Path:
        """worker-OWNER-NAME-N.log with the lowest N no running worker writes: as many files as
        workers ran at once, each appended to by the workers that take its place."""
        assert self.log_dir is not None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        taken = {w.log for ws in self.workers.values() for w in ws if w.process.poll() is None}
        stem = f"worker-{model_id.replace('/', '-')}"
        paths = (self.log_dir / f"{stem}-{n}.log" for n in itertools.count())
        return next(path for path in paths if path not in taken)

    def stop_all(self, timeout_s: float = 30.0) -> None:
        procs = [w.process for ws in self.workers.values() for w in ws if w.process.poll() is None]
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
