"""The Celery app of the producer (API) and consumer (worker): broker, queues, delivery rules."""

from __future__ import annotations

from celery import Celery

from sdq.redis_connect import celery_broker
from sdq.settings import Settings
from sdq.store import redis_keys as keys
from sdq.task_message import GENERATE_TASK

__all__ = ["GENERATE_TASK", "make_celery", "send_generate"]


def make_celery(settings: Settings, redis_url: str) -> Celery:
    """The Celery app: no result backend (the job store is the truth), at-least-once delivery."""
    broker, sentinel_options = celery_broker(redis_url)
    app = Celery("sdq", broker=broker, set_as_current=False)
    app.conf.update(
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        task_serializer="json",
        accept_content=["json"],
        task_soft_time_limit=settings.job_soft_time_limit_s,
        task_time_limit=settings.job_hard_time_limit_s,
        worker_prefetch_multiplier=1,
        worker_concurrency=1,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        worker_enable_remote_control=False,
        # A model load can take minutes on a real checkpoint; the child must not be killed for it.
        worker_proc_alive_timeout=settings.model_load_timeout_s,
        # Redis going away: consumers reconnect with backoff for as long as it takes (a worker's
        # broker watch decides when to give up instead), and no socket waits forever on a peer
        # that vanished without closing the connection (failover, NAT, a lost node).
        broker_connection_retry=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        # The job runs on (it may still finish); the broker watch retires a worker whose
        # consumer cannot come back.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_transport_options={
            "visibility_timeout": settings.broker_visibility_timeout_s,
            "socket_keepalive": True,
            "socket_connect_timeout": 5,
            "socket_timeout": 30,  # above BRPOP's 1 s
            "retry_on_timeout": True,
            "health_check_interval": 10,  # a half-open BRPOP connection is redone within ~21 s
            **sentinel_options,
        },
        task_default_queue=keys.queue(settings.models[0].id),
    )
    return app


def send_generate(app: Celery, job_id: str, model_id: str) -> None:
    """Put one generation token on the model's queue for `job_id` (blocking: recovery and the
    broker watch; the API's submits push `sdq.task_message.generate_token` from the create
    script instead). The worker that takes it runs the job the scheduler picks then, which may be
    another of the model's queued jobs: one token per queued job keeps every job served."""
    app.send_task(GENERATE_TASK, args=[job_id], queue=keys.queue(model_id), ignore_result=True)
