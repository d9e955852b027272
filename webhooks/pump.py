"""The due pump: hands the webhook deliveries that are due to the delivery workers' Celery queue."""

from __future__ import annotations

import logging
import threading
import time

from celery import Celery

from sdq.loop_probe import LoopMarker
from sdq.settings import Settings
from sdq.store import redis_keys as keys
from sdq.store.ops import OpRunner
from sdq.store.webhooks import claim_due, next_due_at, publish_schedule_keep, wait_for_due
from webhooks.retry_policy import keep_record_s

log = logging.getLogger(__name__)

DELIVER_TASK = "sdq.deliver_webhook"
PUBLISH_EVERY_S = 60.0  # the schedule's keep is published again (a flushed Redis forgets it)
# The marker the webhook pod's liveness probe reads (`python -m sdq.loop_probe webhook-pump`).
LIVENESS_MARKER = "webhook-pump"


class DuePump:
    """Moves due deliveries onto the Celery queue; sleeps until the next is due or a nudge."""

    def __init__(self, settings: Settings, store: OpRunner, app: Celery) -> None:
        self.settings = settings
        self.store = store
        self.app = app
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="webhook-pump", daemon=True)
        self.marker = LoopMarker(settings.probe_dir, LIVENESS_MARKER)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)

    def publish_schedule(self) -> int:
        """Publish how long a new guaranteed delivery's record (and its job) must be kept: this
        service's whole retry schedule at the longest jitter. The job scripts read it when they
        schedule a delivery; until it is published they keep records for the retention only."""
        seconds = keep_record_s(
            until_next_s=0.0,
            attempts_made=0,
            schedule_s=self.settings.webhook_retry_schedule_s,
            jitter=self.settings.webhook_retry_jitter,
            lease_s=self.settings.webhook_lease_s,
        )
        self.store.run(publish_schedule_keep(seconds))
        return seconds

    def pump_once(self) -> int:
        taken = self.store.run(claim_due(time.time(), self.settings.webhook_lease_s))
        for job_id, delivery_id in taken:
            self.app.send_task(
                DELIVER_TASK, args=[job_id, delivery_id], queue=keys.webhooks_queue()
            )
        return len(taken)

    def _run(self) -> None:
        publish_at = 0.0
        while not self.stopping.is_set():
            self.marker.tick()  # each round (at most 2 s apart): the liveness probe reads it
            try:
                if time.monotonic() >= publish_at:
                    self.publish_schedule()
                    publish_at = time.monotonic() + PUBLISH_EVERY_S
                if self.pump_once():
                    continue
                upcoming = self.store.run(next_due_at())
                wait = 2.0 if upcoming is None else upcoming - time.time()
                self.store.run(wait_for_due(min(max(wait, 0.01), 2.0)))
            except Exception:  # the pump must outlive any one failure (Redis down, a bad entry)
                log.warning("webhook pump: pass failed; retrying in 1 s", exc_info=True)
                self.stopping.wait(1.0)
