"""The model's batching knobs as the worker reads them: the live policy, re-read every second."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sdq.scaling_policy import ScalingPolicy
from sdq.store.ops import OpRunner
from sdq.store.scaling import get_policy

log = logging.getLogger(__name__)

POLICY_TTL_S = 1.0


@dataclass(frozen=True)
class BatchPolicy:
    """How many jobs one pipeline call may run, and how long to wait once for more."""

    max_batch_size: int = 1
    batch_wait_s: float = 0.0


class BatchPolicyReader:
    """Reads the model's live policy at most once per `ttl_s` (a claim costs no extra round trip
    most of the time); the model's configured policy while none is stored."""

    def __init__(self, default: ScalingPolicy, ttl_s: float = POLICY_TTL_S) -> None:
        self._default = default
        self._ttl_s = ttl_s
        self._read_at: float | None = None
        self._policy = self._from(default)

    def get(self, store: OpRunner, model_id: str) -> BatchPolicy:
        now = time.monotonic()
        if self._read_at is None or now - self._read_at >= self._ttl_s:
            self._read_at = now
            try:
                self._policy = self._from(store.run(get_policy(model_id, self._default)))
            except Exception as error:  # keep the last one read: batching is an optimisation
                log.warning("could not read the batching policy: %s", error)
        return self._policy

    @staticmethod
    def _from(policy: ScalingPolicy) -> BatchPolicy:
        return BatchPolicy(policy.max_batch_size, policy.batch_wait_ms / 1000)
