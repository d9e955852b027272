"""The scaler loop: every tick, for each model, measure → decide → apply, and record changes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from scaler.actuator import Actuator
from scaler.decide import Decision, LoadFailures, Observation, ScalerState, decide
from scaler.measure import measure
from sdq import metrics
from sdq.scaling_policy import ScalingPolicy
from sdq.store.leases import Fenced, fenced
from sdq.store.model_health import LoadRetry, ModelHealth, get_health
from sdq.store.ops import Op, OpRunner
from sdq.store.scaling import load_policy, publish_decision, record_scaling

T = TypeVar("T")
# The lease the scaler replicas share: one scales, the others stand by.
SCALER_LEASE = "scaler"

log = logging.getLogger(__name__)


def within(policy: ScalingPolicy, capacity: int | None) -> ScalingPolicy:
    """The policy with its bounds inside what the actuator can run (a machine's GPUs)."""
    if capacity is None or policy.max_replicas <= capacity:
        return policy
    bounds = {"max_replicas": capacity, "min_replicas": min(policy.min_replicas, capacity)}
    if policy.fallback_replicas is not None:
        bounds["fallback_replicas"] = min(policy.fallback_replicas, capacity)
    return policy.model_copy(update=bounds)


def load_failures(health: ModelHealth, retry: LoadRetry) -> LoadFailures | None:
    """What `decide` needs of a model's health: None while its loads succeed."""
    retry_at = health.next_load_at(retry)
    if health.attempts == 0 or retry_at is None:
        return None
    error = health.error or "unknown error"
    return LoadFailures(health.attempts, error, retry_at, health.refuses_jobs(retry))


@dataclass
class ScalerLoop:
    store: OpRunner
    actuator: Actuator
    models: list[str]
    default_policies: dict[str, ScalingPolicy]
    heartbeat_ttl_s: float
    clock: Callable[[], float]
    load_retry: LoadRetry = field(default_factory=LoadRetry)
    states: dict[str, ScalerState] = field(default_factory=dict)
    failed_loads: dict[str, int] = field(default_factory=dict)  # the count last logged
    # The scaler lease's fencing token while this process holds it (None: no lease in use).
    lease_token: int | None = None

    def _fenced(self, op: Op[T]) -> Op[T]:
        return op if self.lease_token is None else fenced(op, SCALER_LEASE, self.lease_token)

    def _default(self, model_id: str) -> ScalingPolicy:
        return self.default_policies.get(model_id) or ScalingPolicy()

    def tick(self) -> dict[str, Decision]:
        """One pass over every model; a failure to measure one model never stops the others."""
        decisions = {}
        for model_id in self.models:
            try:
                decisions[model_id] = self._tick_model(model_id)
            except Exception:  # the actuator failed (API server down, RBAC): next tick retries
                log.exception("scaling %s failed", model_id)
        return decisions

    def _tick_model(self, model_id: str) -> Decision:
        now = self.clock()
        replicas = self.actuator.replicas(model_id)
        capacity = self.actuator.capacity(model_id)
        busy: frozenset[str] = frozenset()
        try:
            policy = within(load_policy(self.store, model_id, self._default(model_id)), capacity)
            load = measure(self.store, model_id, now, self.heartbeat_ttl_s)
            busy = load.busy_worker_ids
            # Ready means serving: a worker publishes heartbeats only once its model is loaded.
            ready = min(replicas.ready, len(load.workers))
            health = self.store.run(get_health(model_id))
            obs = Observation(
                load.queued,
                load.in_flight,
                load.oldest_queued_age_s,
                replicas.current,
                ready,
                load=load_failures(health, self.load_retry),
                busy_workers=len(busy),
            )
        except Exception as error:  # Redis unreachable: decide holds (or falls back), never zero
            log.warning("measuring %s failed: %s", model_id, error)
            policy = within(self._default(model_id), capacity)
            obs = Observation(None, None, None, replicas.current, replicas.ready, str(error))
        decision = decide(obs, policy, self.states.get(model_id, ScalerState()), now)
        self.states[model_id] = decision.state
        metrics.scaler_decision(model_id, replicas.current, decision.desired)
        failed = obs.load.count if obs.load else 0
        if failed != self.failed_loads.get(model_id, 0):  # once per failure, not every tick
            self.failed_loads[model_id] = failed
            if failed:
                log.warning("%s: %s", model_id, decision.reason)
        published = publish_decision(
            model_id, decision.desired, replicas.current, decision.reason, now
        )
        try:
            self.store.run(self._fenced(published))
        except Fenced:  # another scaler holds the lease now: it acts, this one must not
            log.warning("%s: not scaling, another scaler took the lease", model_id)
            return decision
        except Exception:
            log.warning("could not publish the decision for %s", model_id)
        if decision.desired != replicas.current:
            log.info(
                "%s: %d -> %d (%s)", model_id, replicas.current, decision.desired, decision.reason
            )
            self.actuator.scale(model_id, decision.desired, busy)
            try:
                self.store.run(
                    self._fenced(
                        record_scaling(
                            model_id, replicas.current, decision.desired, decision.reason, now
                        )
                    )
                )
            except Exception:
                log.warning("could not record the scaling event", exc_info=True)
        return decision
