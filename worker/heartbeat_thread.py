"""The worker's heartbeat publisher: a daemon thread that refreshes the record with a short TTL."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from sdq import metrics
from sdq.store import heartbeats
from sdq.store.heartbeats import BrokerState, Heartbeat, WorkerState
from sdq.store.ops import OpRunner

log = logging.getLogger(__name__)


BrokerStatus = Callable[[], tuple[BrokerState, float | None]]


class HeartbeatPublisher:
    """Publishes idle/busy, the current jobs and the broker's health every `interval_s`, and
    promptly on each change; ticks `on_tick` (the liveness marker) only after a heartbeat reached
    Redis while the broker is healthy.

    A change only wakes the publishing thread: the job's hot path never waits on this write.
    Each tick also adds the time since the last to `sdq_gpu_held_seconds_total`: the publisher
    runs from the model's load to the worker's stop, the time its GPU is held.
    """

    def __init__(
        self,
        store: OpRunner,
        worker_id: str,
        model: str,
        interval_s: float,
        ttl_s: float,
        on_tick: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._on_tick = on_tick
        self._broker: BrokerStatus = lambda: (BrokerState.OK, None)
        self._failing_since: float | None = None
        self._interval_s = interval_s
        self._ttl_s = ttl_s
        now = time.time()
        self._beat = Heartbeat(
            worker_id=worker_id,
            host=os.environ.get("POD_NAME") or socket.gethostname(),
            pid=os.getpid(),
            model=model,
            started_at=now,
            seen_at=now,
        )
        self._held_since = time.monotonic()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)

    def start(self) -> None:
        self._held_since = time.monotonic()
        self._publish()
        self._thread.start()

    def watch_broker(self, status: BrokerStatus) -> None:
        """Where each heartbeat reads the broker's health from (the broker watch's verdict)."""
        self._broker = status

    def busy(self, *job_ids: str) -> None:
        """Busy with these jobs: one, or every job of a batch."""
        self._set(WorkerState.BUSY, list(job_ids))

    def busy_with_more(self, claim: Callable[[], list[str]]) -> list[str]:
        """Run `claim` (which starts more jobs: a batch's) and add the jobs it returns to the
        current ones, with no heartbeat published in between: none that is newer than their
        start may leave them out (recovery would take them for lost)."""
        with self._lock:
            more = claim()
            job_ids = [*self._beat.job_ids, *more]
            update = {"state": WorkerState.BUSY, "job_id": job_ids[0], "job_ids": job_ids}
            self._beat = self._beat.model_copy(update=update)
        self._wake.set()
        return more

    def idle(self, adapters: frozenset[str] = frozenset()) -> None:
        """Free again, holding these LoRA adapters loaded."""
        with self._lock:
            self._beat = self._beat.model_copy(update={"adapters": sorted(adapters)})
        self._set(WorkerState.IDLE, [])

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self._count_held()
        try:
            self._store.run(heartbeats.remove(self._beat.worker_id))
        except Exception as error:  # the TTL removes it anyway
            log.warning("could not remove the heartbeat: %s", error)

    def _set(self, state: WorkerState, job_ids: list[str]) -> None:
        update = {"state": state, "job_id": job_ids[0] if job_ids else None, "job_ids": job_ids}
        with self._lock:
            self._beat = self._beat.model_copy(update=update)
        self._wake.set()

    def _publish(self) -> None:
        broker, since = self._broker()
        with self._lock:
            update = {"seen_at": time.time(), "broker": broker, "broker_since": since}
            self._beat = self._beat.model_copy(update=update)
            beat = self._beat
        try:
            self._store.run(heartbeats.publish(beat, self._ttl_s))
        except Exception as error:
            if self._failing_since is None:
                self._failing_since = time.monotonic()
                log.warning(
                    "heartbeat not published (%s); retrying every %g s", error, self._interval_s
                )
            return
        if self._failing_since is not None:
            down = time.monotonic() - self._failing_since
            log.info("heartbeat published again after %.1f s", down)
            self._failing_since = None
        if broker is not BrokerState.OK:
            return  # not alive for the probe while the broker is not healthy
        try:
            self._on_tick()
        except OSError:
            log.warning("could not touch the liveness marker", exc_info=True)

    def _count_held(self) -> None:
        with self._lock:
            now = time.monotonic()
            held, self._held_since = now - self._held_since, now
        metrics.gpu_held(self._beat.model, held)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval_s)
            self._wake.clear()
            self._count_held()
            if not self._stop.is_set():
                self._publish()
