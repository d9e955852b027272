"""The latency benchmark's reference: a Celery app with one no-op task, configured as sdq's
workers are (prefork, one child, prefetch 1, late acks), with a Redis result backend so that a
client can wait for the answer. `celery -A bench.celery_noop_app worker` serves
CELERY_NOOP_REDIS_URL."""

from __future__ import annotations

import os

from celery import Celery

QUEUE = "bench.noop"
TASK = "bench.noop"


def make_app(redis_url: str) -> Celery:
    celery = Celery("bench_noop", broker=redis_url, backend=redis_url, set_as_current=False)
    celery.conf.update(
        task_acks_late=True,
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        worker_concurrency=1,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        worker_enable_remote_control=False,
        task_default_queue=QUEUE,
    )
    celery.task(name=TASK)(noop)
    return celery


def noop() -> int:
    return 0


app = make_app(os.environ.get("CELERY_NOOP_REDIS_URL", "redis://127.0.0.1:6379/0"))
