"""What admission control reads from Redis: a model's queue, a tenant's share of it, and the
model's recent predict times."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from sdq.store import redis_keys as keys
from sdq.store.ops import Op, lua

_STATE = lua("admission_state.lua")
# Recent jobs (of every model) looked at for the model's median predict time.
PREDICT_SAMPLE = 200


@dataclass(frozen=True)
class QueueCounts:
    queued: int  # the model's queued jobs
    tenant_queued: int  # of which the tenant's (0 when not counted)
    p50_predict_s: float | None  # median of the model's recent succeeded jobs; None: none yet


def queue_counts(model_id: str, tenant: str, count_tenant: bool) -> Op[QueueCounts]:
    def decode(raw: list[Any]) -> QueueCounts:
        times = [float(value) for value in raw[2:]]
        p50 = statistics.median(times) if times else None
        return QueueCounts(int(raw[0]), int(raw[1]), p50)

    return Op(
        keys=(keys.queued_jobs(model_id), keys.tenant_jobs(tenant), keys.jobs_index()),
        args=("1" if count_tenant else "0", model_id, keys.job(""), str(PREDICT_SAMPLE)),
        decode=decode,
        script=_STATE,
    )
