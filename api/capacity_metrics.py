"""The capacity gauges, read from Redis at each scrape (queued, in flight, workers by state, the
scaler's desired count, the most overdue webhook): the same figures on every API replica."""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from sdq import metrics
from sdq.metrics import Spec
from sdq.store import heartbeats
from sdq.store.heartbeats import WorkerState
from sdq.store.jobs import queued_summary
from sdq.store.ops import AsyncOpRunner
from sdq.store.scaling import latest_decision
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
    live = await store.run(heartbeats.live_workers(now, heartbeat_ttl_s))
    for model in models:
        count, _ = await store.run(queued_summary(model))
        mine, busy = heartbeats.model_workers(live, model)
        idle = sum(1 for beat in mine if beat.state is WorkerState.IDLE)
        decision = await store.run(latest_decision(model))
        wanted = int(decision["desired"]) if decision else None
        queued.add_metric([model], count)
        in_flight.add_metric([model], busy)
        workers.add_metric([model, "busy"], busy)
        workers.add_metric([model, "idle"], idle)
        workers.add_metric([model, "starting"], heartbeats.workers_starting(wanted, len(mine)))
        if wanted is not None:
            desired.add_metric([model], wanted)
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
