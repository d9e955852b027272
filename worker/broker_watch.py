"""The worker's broker watch: from Celery's main process, judge whether Redis is reachable, whether
this worker takes the work that waits, and whether a delivery lost its outcome; share the verdict
with the pool child (its heartbeat and liveness report it), and stop the worker with exit code 1
when it cannot recover, so that the scaler, `sdq up` or Kubernetes starts a fresh one.

Why exit: Celery's consumer does not always come back after Redis restarts. A job that was running
when Redis went away cannot be acknowledged ("Couldn't ack"), and the stuck acknowledgement keeps
the consumer's only prefetch slot taken: it never fetches again, while the process looks idle.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
from celery import Celery
from celery.exceptions import Reject
from celery.platforms import EX_FAILURE
from celery.signals import worker_ready, worker_shutdown
from celery.worker import state as worker_state

from sdq.celery_app import send_generate
from sdq.redis_connect import sync_redis
from sdq.settings import Settings
from sdq.store import redis_keys as keys
from sdq.store.heartbeats import BrokerState
from sdq.store.jobs import queued_summary
from sdq.store.ops import OpRunner
from worker.redelivery import orphans_since, redeliver

log = logging.getLogger(__name__)

# Celery's consumer retries a lost connection at growing intervals of up to 30 s.
CONSUMER_RETRY_MAX_S = 30.0

CONNECTION_ERRORS = (redis.ConnectionError, redis.TimeoutError)
_STATES = list(BrokerState)


@dataclass(frozen=True)
class Bounds:
    """How long each bad state may last before the worker acts."""

    down_exit_s: float = 60.0  # Redis unreachable: exit (a fresh worker connects from scratch)
    stall_exit_s: float = 40.0  # work waits, the consumer takes none: exit
    orphan_after_s: float = 30.0  # queued jobs with no message anywhere: send them again

    @classmethod
    def from_settings(cls, settings: Settings) -> Bounds:
        """Multiples of the heartbeat TTL, the time after which a silent worker counts as dead;
        a stall only beyond Celery's longest reconnect interval, so a reconnecting consumer is
        not cut short."""
        ttl = settings.heartbeat_ttl_s
        return cls(
            down_exit_s=6 * ttl, stall_exit_s=CONSUMER_RETRY_MAX_S + ttl, orphan_after_s=3 * ttl
        )


@dataclass(frozen=True)
class Observation:
    """One look at the broker from the main process."""

    reachable: bool  # Redis answered
    waiting: int  # messages in this model's queue (0 when Redis did not answer)
    holding: bool  # the consumer holds a delivery (received, not yet finished)
    lost_delivery: bool  # a delivery ended on a Redis connection error: its outcome is unwritten
    queued: int = 0  # the model's queued jobs in the store (0 when Redis did not answer)


@dataclass(frozen=True)
class Verdict:
    state: BrokerState = BrokerState.OK
    since: float | None = None  # when the current state began; None while ok
    exit_reason: str | None = None  # set: the worker should exit (code 1) for this reason


def judge(previous: Verdict, seen: Observation, now: float, bounds: Bounds) -> Verdict:
    """Pure: the broker's state after one observation, and why the worker should exit, if so.

    A lost delivery exits as soon as Redis answers (exiting then hands the job to recovery and
    puts the worker's unacknowledged message back); Redis down or a stalled consumer exit once
    they have lasted their bound.
    """
    if not seen.reachable:
        state = BrokerState.DOWN
    elif seen.waiting > 0 and not seen.holding:
        state = BrokerState.STALLED
    else:
        state = BrokerState.OK
    if state is BrokerState.OK:
        since = None
    elif previous.state is state and previous.since is not None:
        since = previous.since
    else:
        since = now
    lasted = 0.0 if since is None else now - since
    reason = None
    if seen.lost_delivery and seen.reachable:
        reason = "a job's outcome could not be written while Redis was unreachable"
    elif state is BrokerState.DOWN and lasted >= bounds.down_exit_s:
        reason = f"Redis unreachable for {lasted:.0f} s"
    elif state is BrokerState.STALLED and lasted >= bounds.stall_exit_s:
        reason = f"{seen.waiting} job(s) waiting for {lasted:.0f} s while this worker takes none"
    return Verdict(state, since, reason)


class BrokerWatch:
    """Created before the pool forks: the main process judges, the child reads the verdict and
    reports lost deliveries, through shared memory."""

    def __init__(
        self,
        redis_url: str,
        model_id: str,
        send: Callable[[str, str], None],
        interval_s: float,
        bounds: Bounds,
    ) -> None:
        context = multiprocessing.get_context("fork")
        self._lost = context.Event()
        self._state = context.Value("i", 0)
        self._since = context.Value("d", 0.0)
        self._redis_url = redis_url
        self._model_id = model_id
        self._send = send
        self._interval_s = interval_s
        self._bounds = bounds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # The pool child's side.

    def status(self) -> tuple[BrokerState, float | None]:
        """The latest verdict: the broker's state and since when (None while ok)."""
        state = _STATES[self._state.value]
        return state, None if state is BrokerState.OK else self._since.value

    @contextmanager
    def delivery(self) -> Iterator[None]:
        """Around one delivery: a Redis connection error escaping it leaves the job's outcome
        unwritten. The message is then rejected back to the queue instead of acknowledged, and
        the main process retires this worker, so that recovery runs the job again."""
        try:
            yield
        except CONNECTION_ERRORS as error:
            self._lost.set()
            raise Reject(f"Redis unreachable: {error}", requeue=True) from error

    # The main process's side.

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="broker-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        client = sync_redis(
            self._redis_url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5
        )
        store = OpRunner(client)
        verdict = Verdict()
        orphans: float | None = None
        try:
            while not self._stopping.is_set() and not _shutting_down():
                if self._lost.is_set():
                    self._stopping.wait(self._interval_s)
                else:  # a lost delivery wakes the watch at once
                    self._lost.wait(self._interval_s)
                if self._stopping.is_set() or _shutting_down():
                    return
                seen = self._observe(store)
                now = time.time()
                verdict = self._step(verdict, seen, now)
                if verdict.exit_reason is not None:
                    log.error("broker: %s; exiting to be restarted", verdict.exit_reason)
                    worker_state.should_stop = EX_FAILURE  # a warm shutdown, exit code 1
                    return
                orphans = self._redeliver(store, seen, orphans, now)
        finally:
            client.close()

    def _observe(self, store: OpRunner) -> Observation:
        holding = bool(worker_state.reserved_requests)
        lost = self._lost.is_set()
        try:
            waiting = int(store.redis.llen(keys.queue(self._model_id)))
            queued, _ = store.run(queued_summary(self._model_id))
        except redis.RedisError:
            return Observation(reachable=False, waiting=0, holding=holding, lost_delivery=lost)
        return Observation(True, waiting, holding, lost, queued)

    def _step(self, previous: Verdict, seen: Observation, now: float) -> Verdict:
        """Judge, and show the verdict (log, heartbeat, probe) once a bad state is seen twice in
        a row: one look can fall in the instant between two deliveries."""
        verdict = judge(previous, seen, now, self._bounds)
        shown = _STATES[self._state.value]
        if verdict.state is BrokerState.OK or verdict.state is previous.state:
            if verdict.state is not shown:
                if verdict.state is BrokerState.OK:
                    log.info("broker: ok again")
                elif verdict.state is BrokerState.DOWN:
                    limit = self._bounds.down_exit_s
                    log.warning(
                        "broker: Redis unreachable; exiting in %.0f s unless it returns", limit
                    )
                else:
                    limit = self._bounds.stall_exit_s
                    log.warning(
                        "broker: %d job(s) wait but this worker takes none; exiting in %.0f s "
                        "unless it does",
                        seen.waiting,
                        limit,
                    )
            self._since.value = verdict.since or 0.0
            self._state.value = _STATES.index(verdict.state)
        return verdict

    def _redeliver(
        self, store: OpRunner, seen: Observation, since: float | None, now: float
    ) -> float | None:
        """Track how long queued jobs have had no message; past the bound, send them again."""
        if not seen.reachable:
            return since
        since = orphans_since(
            since, holding=seen.holding, waiting=seen.waiting, queued=seen.queued, now=now
        )
        if since is None or now - since < self._bounds.orphan_after_s:
            return since
        try:
            redeliver(store, self._model_id, self._send)
        except Exception as error:  # Redis or the producer failed: the next pass tries again
            log.warning("re-delivering queued jobs of %s failed: %s", self._model_id, error)
            return since
        return None


def _shutting_down() -> bool:
    """A warm or cold shutdown was asked for (a signal, or this watch)."""
    flags = (worker_state.should_stop, worker_state.should_terminate)
    return any(flag is not None and flag is not False for flag in flags)


def attach_broker_watch(
    app: Celery, settings: Settings, redis_url: str, model_id: str
) -> BrokerWatch:
    """A watch for this worker app: started once the consumer is ready, stopped at shutdown."""
    watch = BrokerWatch(
        redis_url,
        model_id,
        lambda job_id, model: send_generate(app, job_id, model),
        settings.heartbeat_interval_s,
        Bounds.from_settings(settings),
    )

    @worker_ready.connect(weak=False)
    def _start(**_: Any) -> None:
        watch.start()

    @worker_shutdown.connect(weak=False)
    def _stop(**_: Any) -> None:
        watch.stop()

    return watch
