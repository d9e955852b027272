"""The capacity gauges, read from Redis at each scrape (queued, in flight, workers by state, the
scaler's desired count, the most overdue webhook): the same figures on every API replica."""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from api.capacity import read_capacity
from sdq import metrics
from sdq.metrics import Spec
from sdq.store.ops import AsyncOpRunner
from sdq.store.webhooks import next_due_at


def _gauge(spec: Spec) -> GaugeMetricFamily:
    return GaugeMetricFamily(spec.name, spec.help, labels=spec.labels or None)


async def capacity_families(
    store: AsyncOpRunner, models: Iterable[str], heartbeat_ttl_s: float
) -> list[Metric]:
    """The gauges of `sdq.metrics.SCRAPED`, with one Redis read per model and two for all."""
    now = time.time()
    queued = _gauge(metrics.QUEUED_JOBS)
    in_flight = _gauge(metrics.IN_FLIGHT_JOBS)
    workers = _gauge(metrics.WORKERS)
    desired = _gauge(metrics.DESIRED_REPLICAS)
    for model in await read_capacity(store, models, now, heartbeat_ttl_s):
        queued.add_metric([model.model], model.queued)
        in_flight.add_metric([model.model], model.in_flight)
        workers.add_metric([model.model, "busy"], model.busy)
        workers.add_metric([model.model, "idle"], model.idle)
        workers.add_metric([model.model, "starting"], model.starting)
        if model.desired is not None:
            desired.add_metric([model.model], model.desired)
    due = await store.run(next_due_at())
    oldest = _gauge(metrics.WEBHOOK_OLDEST_PENDING)
    oldest.add_metric([], 0.0 if due is None else max(0.0, now - due))
    return [queued, in_flight, workers, desired, oldest]


class Snapshot:
    """A collector that yields families read before the scrape (collectors cannot await)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families
