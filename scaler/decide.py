"""The scaling decision: a pure function of (observation, policy, carried state, now)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from sdq.scaling_policy import ScalingPolicy


@dataclass(frozen=True)
class LoadFailures:
    """The model's failed loads in a row, as the store has them: no worker is started for it
    before `retry_at`; `refusing`: its jobs fail and new ones are refused until a load works."""

    count: int
    error: str
    retry_at: float
    refusing: bool = False

    def says(self) -> str:
        times = "time" if self.count == 1 else "times"
        return f"failed to load {self.count} {times} in a row ({self.error})"


@dataclass(frozen=True)
class Observation:
    """What measuring saw for one model; None (or an error) where a metric could not be read."""

    queued: int | None
    in_flight: int | None
    oldest_queued_age_s: float | None
    current_replicas: int
    ready_replicas: int
    metric_error: str | None = None
    load: LoadFailures | None = None
    busy_workers: int | None = None  # the workers running in-flight jobs (None: one per job)


@dataclass(frozen=True)
class ScalerState:
    """What `decide` carries from one tick to the next."""

    recommendations: tuple[tuple[float, int], ...] = ()
    last_work_at: float | None = None
    failures: int = 0


@dataclass(frozen=True)
class Decision:
    desired: int
    reason: str
    state: ScalerState = field(default_factory=ScalerState)


def decide(obs: Observation, policy: ScalingPolicy, state: ScalerState, now: float) -> Decision:
    """The desired worker count and why. Never below the busy workers; never to zero for a
    missing metric; up at once (by at most `scale_up_max_step`), down only after stabilizing."""
    current = obs.current_replicas
    if obs.metric_error is not None or obs.queued is None or obs.in_flight is None:
        failures = state.failures + 1
        error = obs.metric_error or "queued or in-flight work unknown"
        carried = replace(state, failures=failures)
        if policy.fallback_replicas is not None and failures >= policy.failure_threshold:
            target = max(policy.fallback_replicas, current if current > 0 else 0)
            return Decision(
                target, f"metrics failed {failures} times ({error}): fallback {target}", carried
            )
        return Decision(current, f"metrics failed ({error}): holding {current}", carried)

    queued, in_flight = obs.queued, obs.in_flight
    work = queued + in_flight
    # A scaler that (re)starts next to idle workers starts their idle clock; it never drops them.
    starts_clock = state.last_work_at is None and current > 0
    last_work_at = now if work > 0 or starts_clock else state.last_work_at
    need = math.ceil(work / policy.jobs_per_replica)
    reason = f"{queued} queued + {in_flight} in flight -> {need}"

    if current == 0 and in_flight == 0 and queued <= policy.activation_queue_length:
        need, reason = 0, f"{queued} queued, activation above {policy.activation_queue_length}"
    waited = obs.oldest_queued_age_s
    limit = policy.max_queue_wait_s
    # Not while workers are still starting: their cold start is what the job is waiting for.
    starting = obs.ready_replicas < current
    if (
        limit is not None
        and waited is not None
        and waited > limit
        and need <= current
        and not starting
    ):
        need = current + 1
        reason = f"oldest job waited {waited:.1f} s > {limit:.1f} s -> {need}"

    to_zero = False
    if need == 0 and current > 0 and last_work_at is not None:
        idle = now - last_work_at
        if idle < policy.idle_to_zero_s:
            need = 1
            reason = f"idle {idle:.0f} s of {policy.idle_to_zero_s:.0f} s before zero -> 1"
        else:
            to_zero = True  # the idle cooldown is this step's stabilization
            reason = f"idle {idle:.0f} s >= {policy.idle_to_zero_s:.0f} s -> 0"

    # Stabilize the need itself (limits are the operator's word and apply at once).
    window_start = now - policy.scale_down_delay_s
    recommendations = tuple(r for r in state.recommendations if r[0] > window_start)
    recommendations += ((now, need),)
    desired = need
    if need < current and not to_zero:
        stabilized = min(max(value for _, value in recommendations), current)
        if stabilized > need:
            desired = stabilized
            reason += f", stabilizing ({policy.scale_down_delay_s:.0f} s window) -> {desired}"

    if desired - current > policy.scale_up_max_step:
        desired = current + policy.scale_up_max_step
        reason += f", step limit +{policy.scale_up_max_step} -> {desired}"

    load = obs.load
    # A model refusing jobs has no work to wake it: once its wait is over, one worker tries
    # (and is kept while it loads).
    if load is not None and load.refusing and now >= load.retry_at and desired < 1:
        desired = 1
        reason += f"; {load.says()}: trying again -> 1"

    clamped = min(max(desired, policy.min_replicas), policy.max_replicas)
    if clamped != desired:
        desired = clamped
        reason += f", clamped to [{policy.min_replicas}, {policy.max_replicas}] -> {desired}"

    if load is not None and now < load.retry_at:
        # Backoff: keep the workers that loaded, start none (a crashed one is not restarted).
        desired = min(desired, obs.ready_replicas)
        reason += f"; {load.says()}; next try in {load.retry_at - now:.0f} s -> {desired}"

    busy = in_flight if obs.busy_workers is None else obs.busy_workers
    if desired < busy:
        desired = busy
        reason += f", {busy} busy workers are never removed -> {desired}"
    return Decision(desired, reason, ScalerState(recommendations, last_work_at, 0))
