"""Re-delivering queued jobs whose Celery message is gone; the job store's queued set is the truth.

A Redis crash can lose a message that the store's job survives: one popped by a consumer whose
reply was cut off, or one whose job was requeued just before the crash. An idle worker that keeps
finding its model's Celery queue empty while the store still holds queued jobs sends each of them
a message again. A duplicate is harmless: a delivery is a token that claims only a queued job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sdq.store.jobs import queued_job_ids
from sdq.store.ops import OpRunner

log = logging.getLogger(__name__)

REDELIVER_LIMIT = 100  # per pass, oldest first; the next pass takes the rest


def orphans_since(
    previous: float | None, *, holding: bool, waiting: int, queued: int, now: float
) -> float | None:
    """Pure: since when the store has held queued jobs while no message waits and this worker
    holds none (None: not now). Healthy, this lasts only the moment between a consumer's fetch
    and its claim; lasting longer, those jobs have no message left."""
    if holding or waiting > 0 or queued == 0:
        return None
    return now if previous is None else previous


def redeliver(store: OpRunner, model_id: str, send: Callable[[str, str], None]) -> int:
    """Send one message for each of the model's queued jobs (at most REDELIVER_LIMIT)."""
    ids = store.run(queued_job_ids(model_id, REDELIVER_LIMIT))
    for job_id in ids:
        send(job_id, model_id)
    if ids:
        log.warning("re-sent %d queued job(s) of %s: their message was lost", len(ids), model_id)
    return len(ids)
