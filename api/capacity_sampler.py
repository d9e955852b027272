"""Samples each model's capacity into its last-hour history, once per interval, for as long as
the API runs (every replica offers; the first sample of an interval is kept)."""

from __future__ import annotations

import asyncio
import logging
import time

from api.capacity import read_capacity
from api.redis_outage import OutageLog, redis_unreachable
from api.runtime import ApiRuntime
from sdq.store.capacity_history import CapacitySample, interval_start, record_sample

log = logging.getLogger(__name__)


async def sample_once(runtime: ApiRuntime, now: float) -> None:
    """Offer one sample of every served model for the interval `now` falls in."""
    settings = runtime.settings
    models = [spec.id for spec in settings.models]
    for model in await read_capacity(runtime.store, models, now, settings.heartbeat_ttl_s):
        sample = CapacitySample(now, model.queued, model.in_flight, model.workers, model.desired)
        await runtime.store.run(record_sample(model.model, sample, settings.history_interval_s))


def seconds_to_next(now: float, interval_s: float) -> float:
    """How long until the next interval starts (all replicas wake about then)."""
    return interval_start(now, interval_s) + interval_s - now


async def sampling_loop(runtime: ApiRuntime) -> None:
    """Sample at each interval's start; a failed pass leaves a gap in the chart. A Redis outage
    is logged by the recovery loop; another failure is logged once until a pass succeeds."""
    interval = runtime.settings.history_interval_s
    failing = OutageLog()
    while True:
        try:
            await sample_once(runtime, time.time())
        except Exception as error:
            if not redis_unreachable(error) and failing.failed(time.time(), error):
                log.exception("capacity sample failed; trying again each interval")
        else:
            failing.succeeded(time.time())
        await asyncio.sleep(seconds_to_next(time.time(), interval))
