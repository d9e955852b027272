"""One machine's whole stack: embedded Redis (unless SDQ_REDIS_URL), the API, the webhook sender,
and the scaler, which starts each model's workers when work arrives and stops them when idle."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from cli.embedded_redis import EmbeddedRedis
from cli.preflight import check_port_free, data_dir_lock
from cli.supervisor import ProcessSpec, Supervisor
from sdq.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StackInfo:
    url: str
    redis_url: str
    embedded_redis: bool


def stack_processes() -> list[ProcessSpec]:
    """The API, the webhook sender and the local scaler, run through this same CLI."""
    cli = [sys.executable, "-m", "cli"]
    return [
        ProcessSpec("api", [*cli, "api"]),
        ProcessSpec("webhooks", [*cli, "webhooks"]),
        ProcessSpec("scaler", [*cli, "scaler"]),
    ]


def child_env(settings: Settings, redis_url: str) -> dict[str, str]:
    """The settings the children inherit, so every process agrees on them. On one machine,
    webhooks to loopback and private addresses are allowed unless the operator said otherwise."""
    allow_private = os.environ.get("SDQ_WEBHOOK_ALLOW_PRIVATE", "true")
    return {
        "SDQ_WEBHOOK_ALLOW_PRIVATE": allow_private,
        "SDQ_REDIS_URL": redis_url,
        "SDQ_DATA_DIR": str(settings.data_dir.resolve()),
        "SDQ_MODELS": "[" + ",".join(m.model_dump_json() for m in settings.models) + "]",
        "SDQ_HOST": settings.host,
        "SDQ_PORT": str(settings.port),
    }


@contextlib.contextmanager
def running_stack(
    settings: Settings, stop_grace_s: float = 30.0
) -> Iterator[tuple[StackInfo, Supervisor]]:
    """Start everything, yield while it runs (the caller ticks the supervisor), stop in order.
    Raises PreflightFailed, before starting anything, when the port or the data dir is taken."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(data_dir_lock(settings.data_dir))
        check_port_free(settings.host, settings.port)
        redis_url = settings.redis_url
        embedded = redis_url is None
        if redis_url is None:
            server = stack.enter_context(EmbeddedRedis(settings.data_dir / "redis"))
            redis_url = server.url
        supervisor = Supervisor(stack_processes(), child_env(settings, redis_url))
        supervisor.start()
        stack.callback(supervisor.stop, stop_grace_s)
        url = f"http://{settings.host}:{settings.port}"
        yield StackInfo(url, redis_url, embedded), supervisor
