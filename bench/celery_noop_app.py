"""The latency benchmark's reference: sdq's own Celery app (`sdq.celery_app.make_celery`: the
same transport options, prefetch 1, late acks) with one no-op task and a Redis result backend,
so that a client can wait for its answer. `celery -A bench.celery_noop_app worker` serves
CELERY_NOOP_REDIS_URL."""

from __future__ import annotations

import os

from celery import Celery

from sdq.celery_app import make_celery
from sdq.settings import Settings

QUEUE = "bench.noop"
TASK = "bench.noop"


def make_app(redis_url: str) -> Celery:
    celery = make_celery(Settings(redis_url=redis_url), redis_url)
    celery.conf.update(result_backend=redis_url, task_ignore_result=False, task_default_queue=QUEUE)
    celery.task(name=TASK)(noop)
    return celery


def noop() -> int:
    return 0


app = make_app(os.environ.get("CELERY_NOOP_REDIS_URL", "redis://127.0.0.1:6379/0"))
