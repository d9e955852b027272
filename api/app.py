"""The FastAPI app factory: routes, error mapping, body limit, the recovery loop in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI

from api import admin, health, scaling_metrics
from api.a1111 import routes as a1111
from api.body_limit import BodySizeLimit
from api.errors import install_error_handlers
from api.native import files, models, predictions, streams
from api.openai_images import routes as openai_images
from api.runtime import ApiRuntime, build_runtime
from sdq import __version__
from sdq.recovery import reap_once
from sdq.settings import Settings

log = logging.getLogger(__name__)

# Calls whose bodies may carry images (image-to-image) get SDQ_MAX_IMAGE_BODY_BYTES.
IMAGE_PATHS = ("/v1/predictions", "/v1/models/", "/sdapi/v1/img2img", "/v1/images/edits")


async def recovery_loop(runtime: ApiRuntime) -> None:
    """Requeue jobs whose worker died, every `reaper_interval_s`, for as long as the API runs."""
    settings = runtime.settings
    while True:
        try:
            await reap_once(
                runtime.store,
                runtime.enqueue,
                now=time.time(),
                heartbeat_ttl_s=settings.heartbeat_ttl_s,
                max_attempts=settings.max_attempts,
                retention_s=settings.job_retention_s,
            )
        except Exception:
            log.exception("recovery pass failed; retrying next interval")
        await asyncio.sleep(settings.reaper_interval_s)


def create_app(settings: Settings, redis_url: str) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build_runtime(settings, redis_url)
        app.state.sdq = runtime
        reaper = asyncio.create_task(recovery_loop(runtime), name="recovery")
        try:
            yield
        finally:
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper
            await runtime.close()

    app = FastAPI(
        title="sdq",
        version=__version__,
        summary="Queue-based serving for diffusion models (Replicate-style predictions API).",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    routers = [predictions, streams, models, scaling_metrics, admin, files, health]
    routers += [a1111, openai_images]
    for module in routers:
        app.include_router(module.router)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        image_max_bytes=settings.max_image_body_bytes,
        image_paths=IMAGE_PATHS,
    )
    return app
