"""The FastAPI app factory: routes, error mapping, body limit, the recovery loop in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI

from api import admin, admin_keys, health, metrics_route, scaling_metrics, webhook_secrets
from api.a1111 import routes as a1111
from api.access_log import log_access
from api.auth import AccessControl, AuthGate, authenticate, require_admin
from api.body_limit import BodySizeLimit
from api.browser_guards import install_browser_guards
from api.capacity_sampler import sampling_loop
from api.docs_pages import install_docs_pages
from api.drain_gate import DrainGate
from api.draining import Drain
from api.error_boundary import ErrorBoundary
from api.errors import install_error_handlers
from api.file_sweeper import sweeping_loop
from api.hot_routes import HotRoutes
from api.http_metrics import AnsweredRequests, record_metrics
from api.native import account, files, models, predictions, streams
from api.openai_images import routes as openai_images
from api.openapi_errors import install_error_docs
from api.redis_outage import OutageLog, describe, masked_url, redis_unreachable
from api.runtime import ApiRuntime, build_runtime
from api.web.pages import install_web_ui
from sdq import __version__
from sdq.access_mode import access_mode
from sdq.leadership import Leadership, holder_name, lease_length
from sdq.recovery import reap_once
from sdq.settings import Settings

log = logging.getLogger(__name__)

# The lease of the recovery pass: one API replica reaps at a time.
RECOVERY_LEASE = "recovery"
# Calls whose bodies may carry images (image-to-image) get SDQ_MAX_IMAGE_BODY_BYTES.
IMAGE_PATHS = ("/v1/predictions", "/v1/models/", "/sdapi/v1/img2img", "/v1/images/edits")


async def recovery_loop(runtime: ApiRuntime) -> None:
    """Requeue jobs whose worker died, every `reaper_interval_s`, for as long as the API runs:
    on the one API replica holding the recovery lease (another takes over within the lease when
    it stops). A Redis outage is logged once when it starts and once when it ends."""
    settings = runtime.settings
    outage = OutageLog()
    interval = settings.reaper_interval_s
    leadership = Leadership(RECOVERY_LEASE, lease_length(interval), holder_name())
    try:
        while True:
            await recovery_pass(runtime, leadership, outage)
            await asyncio.sleep(interval)
    finally:
        with contextlib.suppress(Exception):  # stopping: the next replica takes over at once
            await leadership.release_async(runtime.store)


async def recovery_pass(runtime: ApiRuntime, leadership: Leadership, outage: OutageLog) -> None:
    settings = runtime.settings
    try:
        if await leadership.hold_async(runtime.store):
            await reap_once(
                runtime.store,
                runtime.enqueue,
                now=time.time(),
                heartbeat_ttl_s=settings.heartbeat_ttl_s,
                max_attempts=settings.max_attempts,
                retention_s=settings.job_retention_s,
            )
    except Exception as error:
        if not redis_unreachable(error):
            log.exception("recovery pass failed; retrying next interval")
        elif down := outage.failed(time.time(), error):
            log.warning("%s; retrying every %s s", down, settings.reaper_interval_s)
    else:
        if back := outage.succeeded(time.time()):
            log.info(back)


async def log_redis_reached(runtime: ApiRuntime, redis_url: str, timeout_s: float = 5) -> None:
    """Say at start-up which Redis answered, or that none did yet (requests get 503 until then)."""
    shown = masked_url(redis_url)
    try:
        await asyncio.wait_for(runtime.store.redis.ping(), timeout_s)
    except Exception as error:  # refused, timed out, wrong password...: the server still starts
        why = describe(error)
        log.warning("Redis not reachable yet at %s (%s); answering 503 until it is", shown, why)
    else:
        log.info("Redis reached at %s", shown)
        await warn_if_too_few_replicas(runtime)


async def warn_if_too_few_replicas(runtime: ApiRuntime) -> None:
    """Say at start-up when Redis has fewer replicas than `SDQ_REDIS_REPLICA_ACKS` asks to
    confirm each job: until it has them, every new job waits out the timeout and is refused."""
    wanted = runtime.settings.redis_replica_acks
    if wanted <= 0:
        return
    try:
        connected = int((await runtime.store.redis.info("replication"))["connected_slaves"])
    except Exception as error:  # INFO not allowed (a managed Redis), or Redis gone again
        log.info("could not count the Redis replicas (%s)", describe(error))
        return
    if connected < wanted:
        log.warning(
            "Redis has %d connected replica(s) but SDQ_REDIS_REPLICA_ACKS is %d: new jobs are "
            "refused (503) until enough replicas are back",
            connected,
            wanted,
        )


def create_app(settings: Settings, redis_url: str) -> FastAPI:
    """The API. Raises AccessRefused when the settings would serve a network address open."""
    mode = access_mode(settings)
    drain = Drain(settings.shutdown_grace_s)  # begun by the server on SIGTERM (app.state.sdq_drain)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build_runtime(settings, redis_url, drain)
        app.state.sdq = runtime
        admin_key = settings.admin_key.get_secret_value() if settings.admin_key else None
        app.state.sdq_access = AccessControl(runtime.store, admin_key, mode.keys_required)
        log.info(mode.notice)
        await log_redis_reached(runtime, redis_url)
        loops = [
            asyncio.create_task(recovery_loop(runtime), name="recovery"),
            asyncio.create_task(sampling_loop(runtime), name="capacity history"),
            asyncio.create_task(sweeping_loop(runtime), name="file sweep"),
        ]
        try:
            yield
        finally:
            for loop in loops:
                loop.cancel()
            for loop in loops:
                with contextlib.suppress(asyncio.CancelledError):
                    await loop
            await runtime.close()

    app = FastAPI(
        title="sdq",
        version=__version__,
        summary="Queue-based serving for diffusion models (Replicate-style predictions API).",
        lifespan=lifespan,
        docs_url=None,  # served from packaged assets by install_docs_pages, not a CDN
        redoc_url=None,
    )
    app.state.sdq_drain = drain
    # First: the create and poll calls are most requests, and routes are tried in order.
    app.include_router(predictions.router, dependencies=[Depends(authenticate)])
    install_error_handlers(app)
    install_error_docs(app)
    install_docs_pages(app)
    install_web_ui(app)
    # Open: probes, and links that carry their own signature; /metrics checks its caller itself.
    for module in (files, health, metrics_route):
        app.include_router(module.router)
    keyed = [
        account,
        streams,
        models,
        scaling_metrics,
        a1111,
        openai_images,
        webhook_secrets,
    ]
    for module in keyed:
        app.include_router(module.router, dependencies=[Depends(authenticate)])
    for module in (admin, admin_keys):
        app.include_router(module.router, dependencies=[Depends(require_admin)])
    # Innermost: the hottest routes' fast lanes, past every guard below, before FastAPI's router.
    app.add_middleware(HotRoutes, routes=app.router.routes)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        image_max_bytes=settings.max_image_body_bytes,
        image_paths=IMAGE_PATHS,
    )
    app.add_middleware(AuthGate)  # a caller without a key is refused before its body is read
    install_browser_guards(app, settings)  # Host, Origin, CORS: before the key and the routes
    app.add_middleware(DrainGate, drain=drain)  # while draining: 503 before any key lookup
    app.add_middleware(ErrorBoundary)  # it sees every response and every error
    observers = [record_metrics, *([log_access] if settings.access_log else [])]
    # Outermost: every answer, the boundary's too, measured once for the metrics and the log.
    app.add_middleware(AnsweredRequests, routes=app.router.routes, observers=observers)
    return app
