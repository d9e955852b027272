"""Running the scaler loop as a process: one tick every poll interval until SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType

import redis

from scaler.local_actuator import LocalActuator
from scaler.loop import ScalerLoop
from sdq.settings import Settings
from sdq.store import JobStore

log = logging.getLogger(__name__)


def run_local_scaler(settings: Settings, redis_url: str) -> None:
    """Scale each served model's local `sdq worker` processes from its queued + in-flight work."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    store = JobStore(redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=10))
    actuator = LocalActuator(env={"SDQ_REDIS_URL": redis_url})
    loop = ScalerLoop(
        store=store,
        actuator=actuator,
        models=[m.id for m in settings.models],
        default_policies={m.id: m.scaling for m in settings.models},
        heartbeat_ttl_s=settings.heartbeat_ttl_s,
        clock=time.time,
    )
    log.info(
        "scaler started: %s, every %.1f s", ", ".join(loop.models), settings.scaler_poll_interval_s
    )
    try:
        while not stop.is_set():
            loop.tick()
            stop.wait(settings.scaler_poll_interval_s)
    finally:
        log.info("scaler stopping: workers finish their current image")
        actuator.stop_all(timeout_s=settings.job_hard_time_limit_s)
