"""Holding the Celery consumer back until the pool's child has loaded the model.

Without it the parent process reserves a job from the broker while the child is still loading
(seconds to minutes for a real checkpoint); a worker killed in that window would leave the job
invisible until the broker's visibility timeout. With it, "consuming" starts only once the
model can serve, and a model that cannot load stops the worker with its error.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from typing import Any

from celery import bootsteps
from celery.exceptions import WorkerShutdown
from celery.platforms import EX_FAILURE
from celery.worker import state as worker_state

log = logging.getLogger(__name__)


class ModelLoadFailed(Exception):
    """The child could not load the model; the worker exits non-zero instead of holding jobs."""


class ModelGate:
    """Two flags shared across the fork: set by the child, read by the parent."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self.ready = context.Event()
        self.failed = context.Event()

    def wait(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.ready.wait(0.2):
            if self.failed.is_set():
                raise ModelLoadFailed("the model could not be loaded (see the error above)")
            if worker_state.should_stop is not None or worker_state.should_terminate is not None:
                return
            if time.monotonic() > deadline:
                raise ModelLoadFailed(f"the model was not loaded within {timeout_s:.0f} s")


def gate_step(gate: ModelGate, timeout_s: float) -> type[bootsteps.StartStopStep]:
    """A consumer bootstep that runs after the task consumer is set up and before the event loop
    (which is what actually fetches messages), and blocks until the model is loaded."""

    class WaitForModel(bootsteps.StartStopStep):  # type: ignore[misc]
        requires = ("celery.worker.consumer.tasks:Tasks",)

        def start(self, parent: Any) -> None:
            try:
                gate.wait(timeout_s)
            except ModelLoadFailed as failed:  # one line and exit code 1, not a traceback
                log.error("%s: the worker exits", failed)
                raise WorkerShutdown(EX_FAILURE) from None

    return WaitForModel
