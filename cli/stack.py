"""One machine's whole stack: embedded Redis (unless SDQ_REDIS_URL), the API, the webhook sender,
and the scaler, which starts each model's workers when work arrives and stops them when idle."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cli.embedded_redis import EmbeddedRedis
from cli.log_follow import following
from cli.preflight import check_port_free, data_dir_lock
from cli.supervisor import ProcessSpec, Supervisor
from sdq.access_mode import allowed_hosts
from sdq.logs import is_verbose, logs_dir
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


# prometheus-client's multiprocess mode: each process writes its metrics to files there, and the
# API's /metrics adds them up, so one scrape target covers the whole machine.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def fresh_metrics_dir(data_dir: Path) -> Path:
    """DATA_DIR/metrics, emptied: the files of a previous run's processes would add to this one's
    counters (held under the data dir's lock, so no other stack writes there)."""
    folder = data_dir / "metrics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def child_env(
    settings: Settings, redis_url: str, metrics_dir: Path | None = None
) -> dict[str, str]:
    """The settings the children inherit, so every process agrees on them. On one machine,
    webhooks to loopback and private addresses are allowed unless the operator said otherwise;
    every process (the workers through the scaler) writes its metrics to `metrics_dir`."""
    allow_private = os.environ.get("SDQ_WEBHOOK_ALLOW_PRIVATE", "true")
    shared = {MULTIPROC_ENV: str(metrics_dir.resolve())} if metrics_dir is not None else {}
    return shared | {
        "SDQ_ALLOWED_HOSTS": ",".join(allowed_hosts(settings)),
        "SDQ_WEBHOOK_ALLOW_PRIVATE": allow_private,
        "SDQ_REDIS_URL": redis_url,
        "SDQ_DATA_DIR": str(settings.data_dir.resolve()),
        "SDQ_MODELS": "[" + ",".join(m.model_dump_json() for m in settings.models) + "]",
        "SDQ_HOST": settings.host,
        "SDQ_PORT": str(settings.port),
        "SDQ_LOG_LEVEL": settings.log_level,
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
        logs = logs_dir(settings)
        if is_verbose(settings):  # entered first, so it echoes the last lines of every process
            stack.enter_context(following(logs))
        log.info("logs: %s, one file per process (--log-level debug: here too)", logs.resolve())
        redis_url = settings.redis_url
        specs = stack_processes()
        if redis_url is None:
            # A supervised child like the others: restarted on the same port from its AOF if it
            # dies, and stopped last, after the workers have finished their images.
            server = EmbeddedRedis(
                settings.data_dir / "redis",
                log_file=logs / "redis.log",
                appendfsync=settings.redis_appendfsync,
            )
            redis_url = server.url
            redis_spec = ProcessSpec(
                "redis", server.command(), ready=server.wait_ready, stop_last=True
            )
            specs.insert(0, redis_spec)
        env = child_env(settings, redis_url, fresh_metrics_dir(settings.data_dir))
        supervisor = Supervisor(specs, env, log_dir=logs)
        stack.callback(supervisor.stop, stop_grace_s)
        supervisor.start()
        url = f"http://{settings.host}:{settings.port}"
        yield StackInfo(url, redis_url, settings.redis_url is None), supervisor
