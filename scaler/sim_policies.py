"""The autoscalers the simulator compares: sdq's own `decide`, a Knative-KPA-like concurrency
autoscaler, and KEDA's defaults on `LLEN` with the HPA behind it. Each is pure: a tick turns
what the cluster looks like into a desired count."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Protocol

from scaler.decide import Observation, ScalerState, decide
from sdq.scaling_policy import ScalingPolicy

# How a scale-in picks its victims: sdq marks busy workers (pod-deletion-cost, or the local
# actuator's idle-only stop); a plain ReplicaSet deletes the newest pods, busy or not.
ScaleIn = Literal["idle_only", "newest_first"]
# An extra tick right after an arrival: sdq's job store nudges the scaler when a model's queue
# stops being empty; Knative's activator pokes the autoscaler when a request finds no pod.
Wake = Literal["none", "empty_queue", "zero_pods"]


@dataclass(frozen=True)
class ClusterView:
    queued: int
    busy: int
    oldest_queued_age_s: float | None
    current: int  # workers wanted and not leaving (a Deployment's spec.replicas)
    ready: int  # of those, started and loaded


class SimPolicy(Protocol):
    name: str
    interval_s: float
    scale_in: ScaleIn
    grace_s: float  # how long a busy worker told to leave may finish before it is killed
    wake: Wake

    def tick(self, view: ClusterView, now: float) -> int: ...


@dataclass
class SdqPolicy:
    """sdq's scaler: the real `decide`, on queued + in-flight, idle workers removed only."""

    policy: ScalingPolicy = field(default_factory=ScalingPolicy)
    interval_s: float = 2.0
    name: str = "sdq"
    scale_in: ScaleIn = "idle_only"
    grace_s: float = math.inf
    wake: Wake = "empty_queue"
    state: ScalerState = field(default_factory=ScalerState)

    def tick(self, view: ClusterView, now: float) -> int:
        obs = Observation(
            view.queued, view.busy, view.oldest_queued_age_s, view.current, view.ready
        )
        decision = decide(obs, self.policy, self.state, now)
        self.state = decision.state
        return decision.desired


@dataclass
class KpaLikePolicy:
    """Knative's KPA with its defaults: concurrency (queued + running requests) averaged over
    a 60 s stable and a 6 s panic window, target 70 % of `container_concurrency` per pod,
    panic at 2x the ready pods (no scale-down while panicking, for a stable window), at most
    halving per tick, zero only after a stable window without traffic plus a 30 s grace.
    Terminating pods drain for up to the revision timeout (300 s)."""

    container_concurrency: int = 1
    target_utilization: float = 0.7
    stable_window_s: float = 60.0
    panic_window_s: float = 6.0
    panic_threshold: float = 2.0
    max_scale_down_rate: float = 2.0
    scale_to_zero_grace_s: float = 30.0
    min_replicas: int = 0
    max_replicas: int = 10
    interval_s: float = 2.0
    name: str = "KPA-like"
    scale_in: ScaleIn = "newest_first"
    grace_s: float = 300.0
    wake: Wake = "zero_pods"
    samples: list[tuple[float, int]] = field(default_factory=list)
    panic_since: float | None = None
    last_desired: int = 0
    zero_since: float | None = None

    def _average(self, now: float, window: float) -> float:
        recent = [c for t, c in self.samples if t > now - window]
        return sum(recent) / len(recent) if recent else 0.0

    def tick(self, view: ClusterView, now: float) -> int:
        self.samples.append((now, view.queued + view.busy))
        self.samples = [s for s in self.samples if s[0] > now - self.stable_window_s]
        target = self.container_concurrency * self.target_utilization
        stable = math.ceil(self._average(now, self.stable_window_s) / target)
        panic = math.ceil(self._average(now, self.panic_window_s) / target)
        if panic / max(view.ready, 1) >= self.panic_threshold:
            self.panic_since = now
        elif self.panic_since is not None and now - self.panic_since >= self.stable_window_s:
            self.panic_since = None
        desired = max(panic, self.last_desired) if self.panic_since is not None else stable
        if view.ready > 0:
            desired = max(desired, math.floor(view.ready / self.max_scale_down_rate))
        if desired == 0 and view.current > 0:
            self.zero_since = now if self.zero_since is None else self.zero_since
            if now - self.zero_since < self.scale_to_zero_grace_s:
                desired = 1
        else:
            self.zero_since = None
        desired = min(max(desired, self.min_replicas), self.max_replicas)
        self.last_desired = desired
        return desired


@dataclass
class KedaLlenPolicy:
    """KEDA's defaults on a Redis list (`LLEN`, so running jobs are invisible): activation
    from zero checked every 30 s poll, the HPA (15 s sync) at ceil(LLEN / list_length) with a
    300 s scale-down stabilization and at most +max(4, 100 %) per sync, back to zero after a
    300 s cooldown with an empty list. Pods are deleted newest first, busy or not, and get the
    default 30 s termination grace."""

    list_length: int = 1
    polling_interval_s: float = 30.0
    cooldown_s: float = 300.0
    hpa_stabilization_s: float = 300.0
    min_replicas: int = 0
    max_replicas: int = 10
    interval_s: float = 15.0
    name: str = "KEDA LLEN"
    scale_in: ScaleIn = "newest_first"
    grace_s: float = 30.0
    wake: Wake = "none"
    last_poll: float | None = None
    last_active: float | None = None
    recommendations: list[tuple[float, int]] = field(default_factory=list)

    def tick(self, view: ClusterView, now: float) -> int:
        desired = view.current
        polled = self.last_poll is None or now - self.last_poll >= self.polling_interval_s
        if polled:
            self.last_poll = now
            if view.queued > 0:
                self.last_active = now
            if view.current == 0 and view.queued > 0:
                desired = max(1, self.min_replicas)  # activation; the HPA takes it from here
            elif (
                view.current > 0
                and view.queued == 0
                and self.min_replicas == 0
                and (self.last_active is None or now - self.last_active >= self.cooldown_s)
            ):
                self.recommendations.clear()
                return 0
        if view.current == 0:
            return min(desired, self.max_replicas)
        raw = max(1, math.ceil(view.queued / self.list_length))
        self.recommendations = [
            r for r in self.recommendations if r[0] > now - self.hpa_stabilization_s
        ]
        self.recommendations.append((now, raw))
        if raw < view.current:
            raw = min(max(v for _, v in self.recommendations), view.current)
        raw = min(raw, view.current + max(4, view.current))
        return min(max(raw, self.min_replicas, 1), self.max_replicas)
