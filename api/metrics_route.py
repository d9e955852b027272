"""`GET /metrics`: every metric in Prometheus' text format. Under PROMETHEUS_MULTIPROC_DIR (`sdq
up`) the sum over every process of the machine, else this process's; plus the capacity gauges
read from Redis. With keys on, it takes an admin key or SDQ_METRICS_TOKEN, never a client key."""

from __future__ import annotations

import logging
import os
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from api.auth import access_of, identify
from api.capacity_metrics import Snapshot, capacity_families
from api.credentials import read_credential
from api.deps import Runtime
from api.errors import Forbidden
from api.redis_outage import redis_unreachable
from sdq import metrics
from sdq.api_keys import same_secret

log = logging.getLogger(__name__)

router = APIRouter(tags=["metrics"])

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


async def metrics_reader(request: Request, runtime: Runtime) -> None:
    """Keys on: the metrics token (Prometheus' bearer token) or an admin key; else open."""
    access = access_of(request)
    if not access.keys_required:
        return
    token = runtime.settings.metrics_token
    sent = read_credential(request.headers.get("authorization"), allow_basic=False).key
    if token is not None and sent is not None and same_secret(sent, token.get_secret_value()):
        return
    caller = await identify(access, request)
    if not caller.is_admin:
        metrics.auth_failure("forbidden")
        raise Forbidden(
            f"key {caller.name!r} is a client key; /metrics needs an admin key or SDQ_METRICS_TOKEN"
        )


MetricsReader = Annotated[None, Depends(metrics_reader)]


def exposition(families: list[Metric]) -> bytes:
    """The text format of every process's metrics and the capacity gauges (reads files: run it
    off the event loop)."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # no annotations
    else:
        registry.register(_Default())
    registry.register(Snapshot(families))
    return generate_latest(registry)


class _Default:
    """This process's default registry, inside the per-scrape one."""

    def collect(self) -> list[Metric]:
        return list(REGISTRY.collect())


# Prometheus' endpoint, not an API operation: left out of /openapi.json.
@router.get("/metrics", include_in_schema=False, response_class=PlainTextResponse)
async def prometheus_metrics(runtime: Runtime, _reader: MetricsReader) -> Response:
    models = [spec.id for spec in runtime.settings.models]
    try:
        families = await capacity_families(runtime.store, models, runtime.settings.heartbeat_ttl_s)
    except Exception as error:  # Redis down: the processes' own metrics still answer
        if not redis_unreachable(error):
            raise
        log.warning("capacity gauges left out of /metrics: Redis unreachable (%s)", error)
        families = []
    body = await to_thread.run_sync(exposition, families)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
