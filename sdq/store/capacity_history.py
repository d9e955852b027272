"""Each model's capacity over the last hour (queued, in flight, workers, desired), sampled at a
fixed interval into a Redis stream: the operator console's chart."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sdq.store import redis_keys as keys
from sdq.store.ops import Op, lua

HISTORY_KEEP_S = 3600.0

_RECORD = lua("capacity_history_record.lua")


@dataclass(frozen=True)
class CapacitySample:
    """One model at one moment: jobs waiting and running, workers up, the scaler's wish."""

    at: float
    queued: int
    in_flight: int
    workers: int
    desired: int | None


def interval_start(now: float, interval_s: float) -> float:
    """The start of the sampling interval `now` falls in (every replica agrees on it)."""
    return math.floor(now / interval_s) * interval_s


def record_sample(model_id: str, sample: CapacitySample, interval_s: float) -> Op[bool]:
    """Store the sample as its interval's, unless another replica already did (False)."""
    start_ms = int(interval_start(sample.at, interval_s) * 1000)
    fields = {
        "queued": str(sample.queued),
        "in_flight": str(sample.in_flight),
        "workers": str(sample.workers),
        "desired": "" if sample.desired is None else str(sample.desired),
    }
    pairs = [part for item in fields.items() for part in item]
    return Op(
        keys=(keys.capacity_history(model_id),),
        args=(
            str(start_ms),
            str(start_ms - int(HISTORY_KEEP_S * 1000)),
            str(int(HISTORY_KEEP_S * 2)),
            *pairs,
        ),
        decode=lambda raw: int(raw) == 1,
        script=_RECORD,
    )


def read_history(model_id: str, since: float) -> Op[list[CapacitySample]]:
    """The samples from `since` (unix seconds) on, oldest first."""

    def decode(raw: list[tuple[str, dict[str, str]]]) -> list[CapacitySample]:
        return [
            CapacitySample(
                at=int(entry_id.partition("-")[0]) / 1000,
                queued=int(fields["queued"]),
                in_flight=int(fields["in_flight"]),
                workers=int(fields["workers"]),
                desired=int(fields["desired"]) if fields.get("desired") else None,
            )
            for entry_id, fields in raw
        ]

    return Op(
        keys=(),
        args=("XRANGE", keys.capacity_history(model_id), str(int(since * 1000)), "+"),
        decode=decode,
    )
