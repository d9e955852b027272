"""Samples each model's capacity into its last-hour history, once per interval, for as long as
the API runs (every replica offers; the first sample of an interval is kept)."""

from __future__ import annotations

import asyncio
import logging
import time

from api.capacity import read_capacity
from api.redis_outage import redis_unreachable
from api.runtime import ApiRuntime
from sdq.store.capacity_history import CapacitySample, record_sample

log = logging.getLogger(__name__)


async def sample_once(runtime: ApiRuntime, now: float) -> None:
    settings = runtime.settings
    models = [spec.id for spec in settings.models]
    for model in await read_capacity(runtime.store, models, now, settings.heartbeat_ttl_s):
        sample = CapacitySample(now, model.queued, model.busy, model.workers, model.desired)
        await runtime.store.run(record_sample(model.model, sample, settings.history_interval_s))


async def sampling_loop(runtime: ApiRuntime) -> None:
    """Sample at each interval's start; a failed pass (Redis away) leaves a gap in the chart."""
    interval = runtime.settings.history_interval_s
    while True:
        try:
            await sample_once(runtime, time.time())
        except Exception as error:
            if not redis_unreachable(error):
                log.exception("capacity sample failed; trying again next interval")
        await asyncio.sleep(interval - time.time() % interval)
