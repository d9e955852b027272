"""The scaling decision, as a table: each row is one situation and what the scaler must do."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from pydantic import ValidationError

from scaler.decide import LoadFailures, Observation, ScalerState, decide
from sdq.scaling_policy import ScalingPolicy

NOW = 10_000.0


def seen(
    queued: int | None = 0,
    in_flight: int | None = 0,
    current: int = 0,
    *,
    age: float | None = None,
    ready: int | None = None,
    error: str | None = None,
    load: LoadFailures | None = None,
    busy: int | None = None,
) -> Observation:
    return Observation(
        queued=queued,
        in_flight=in_flight,
        oldest_queued_age_s=age,
        current_replicas=current,
        ready_replicas=current if ready is None else ready,
        metric_error=error,
        load=load,
        busy_workers=busy,
    )


@dataclass
class Case:
    name: str
    obs: Observation
    desired: int
    reason: str
    policy: dict[str, object] = field(default_factory=dict)
    state: ScalerState = field(default_factory=ScalerState)


CASES = [
    Case("stays at zero with no work", seen(0, 0, 0), 0, "0 queued"),
    Case("activation from zero", seen(1, 0, 0), 1, "1 queued + 0 in flight -> 1"),
    Case("below the activation threshold stays at zero", seen(2, 0, 0), 0, "activation above 2",
         {"activation_queue_length": 2}),
    Case("above the activation threshold wakes", seen(3, 0, 0), 3, "-> 3",
         {"activation_queue_length": 2}),
    Case("scale up by queue", seen(3, 2, 2), 5, "3 queued + 2 in flight -> 5"),
    Case("jobs per replica", seen(5, 2, 2), 4, "-> 4", {"jobs_per_replica": 2}),
    Case("step limit", seen(20, 0, 1), 5, "step limit +4 -> 5", {"scale_up_max_step": 4}),
    Case("max clamp", seen(50, 0, 10), 10, "clamped to [0, 10] -> 10"),
    Case("min clamp", seen(0, 0, 0), 2, "clamped to [2, 10] -> 2", {"min_replicas": 2}),
    Case("in-flight protects busy workers", seen(0, 3, 5), 3, "0 queued + 3 in flight -> 3"),
    Case("busy workers beyond max are kept", seen(0, 4, 4), 4, "never removed",
         {"max_replicas": 2}),
    Case("each job of a batch counts as in flight", seen(0, 8, 2, busy=2), 8, "8 in flight -> 8"),
    Case("batches: busy workers, not their jobs, are the floor", seen(0, 8, 2, busy=2), 2,
         "0 queued + 8 in flight -> 2", {"jobs_per_replica": 4}),
    Case("batches beyond max keep the busy workers only", seen(0, 8, 3, busy=3), 3,
         "3 busy workers are never removed -> 3", {"max_replicas": 2, "jobs_per_replica": 4}),
    Case("stabilization on the way down", seen(1, 1, 4), 4, "stabilizing (60 s window) -> 4",
         state=ScalerState(recommendations=((NOW - 30, 4),), last_work_at=NOW)),
    Case("down after the window passed", seen(1, 1, 4), 2, "-> 2",
         state=ScalerState(recommendations=((NOW - 61, 4),), last_work_at=NOW)),
    Case("idle but inside the cooldown keeps one", seen(0, 0, 3), 1, "before zero -> 1",
         {"scale_down_delay_s": 0}, ScalerState(last_work_at=NOW - 100)),
    Case("idle to zero after the cooldown", seen(0, 0, 1), 0, "idle 301 s >= 300 s -> 0",
         {"scale_down_delay_s": 0}, ScalerState(last_work_at=NOW - 301)),
    Case("the idle cooldown is not stabilized again", seen(0, 0, 4), 0, "-> 0",
         state=ScalerState(recommendations=((NOW - 30, 4),), last_work_at=NOW - 301)),
    Case("a restarted scaler starts the idle clock", seen(0, 0, 2), 1, "idle 0 s of 300 s",
         {"scale_down_delay_s": 0}),
    Case("queue wait adds a worker", seen(2, 2, 2, age=9.0), 3,
         "oldest job waited 9.0 s > 4.0 s -> 3",
         {"max_queue_wait_s": 4.0, "jobs_per_replica": 2}),
    Case("queue wait adds none while workers are still starting",
         seen(2, 2, 2, age=9.0, ready=1), 2, "-> 2",
         {"max_queue_wait_s": 4.0, "jobs_per_replica": 2}),
    Case("queue wait within bounds adds none", seen(2, 2, 2, age=3.0), 2, "-> 2",
         {"max_queue_wait_s": 4.0, "jobs_per_replica": 2}),
    Case("metric error holds", seen(None, None, 3, error="redis down"), 3, "holding 3"),
    Case("metric error never goes to zero", seen(None, 0, 2), 2, "holding 2",
         {"fallback_replicas": None}),
    Case("repeated metric errors fall back", seen(None, None, 0, error="timeout"), 2, "fallback 2",
         {"fallback_replicas": 2, "failure_threshold": 3}, ScalerState(failures=2)),
    Case("fallback never drops running workers", seen(None, None, 5, error="timeout"), 5,
         "fallback 5",
         {"fallback_replicas": 2, "failure_threshold": 1}),
    Case("a model that failed to load starts no worker before its backoff",
         seen(2, 0, 0, load=LoadFailures(1, "x is gone", NOW + 10, refusing=False)), 0,
         "failed to load 1 time in a row (x is gone); next try in 10 s -> 0"),
    Case("after its backoff it is tried again", seen(2, 0, 0, load=LoadFailures(2, "e", NOW - 1)),
         2, "2 queued + 0 in flight -> 2"),
    Case("the backoff keeps the workers that loaded and starts no other",
         seen(3, 0, 2, ready=1, load=LoadFailures(1, "out of memory", NOW + 10)), 1,
         "failed to load 1 time in a row (out of memory); next try in 10 s -> 1"),
    Case("the backoff never removes a busy worker",
         seen(1, 2, 3, ready=2, load=LoadFailures(1, "e", NOW + 5)), 2, "next try in 5 s -> 2"),
    Case("a model refusing jobs is loaded again with one worker once the backoff passed",
         seen(0, 0, 0, load=LoadFailures(3, "e", NOW - 1, refusing=True)), 1,
         "failed to load 3 times in a row (e): trying again -> 1"),
    Case("the worker trying again is kept while it loads, however long the model was idle",
         seen(0, 0, 1, ready=0, load=LoadFailures(3, "e", NOW - 1, refusing=True)), 1,
         "trying again -> 1", {"scale_down_delay_s": 0}, ScalerState(last_work_at=NOW - 1000)),
    Case("but not before",
         seen(0, 0, 0, load=LoadFailures(3, "e", NOW + 40, refusing=True)), 0,
         "failed to load 3 times in a row (e); next try in 40 s"),
    Case("a model switched off is not tried again",
         seen(0, 0, 0, load=LoadFailures(3, "e", NOW - 1, refusing=True)), 0, "-> 0",
         {"max_replicas": 0}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_decide(case: Case) -> None:
    decision = decide(case.obs, ScalingPolicy(**case.policy), case.state, NOW)
    assert decision.desired == case.desired, decision.reason
    assert case.reason in decision.reason


def test_state_carries_failures_and_resets_on_success() -> None:
    policy = ScalingPolicy(fallback_replicas=1, failure_threshold=2)
    first = decide(seen(None, None, 3, error="x"), policy, ScalerState(), NOW)
    assert first.state.failures == 1 and first.desired == 3
    second = decide(seen(None, None, 3, error="x"), policy, first.state, NOW + 1)
    assert second.state.failures == 2 and second.desired == 3  # fallback 1, but 3 are running
    recovered = decide(seen(0, 0, 3), policy, second.state, NOW + 2)
    assert recovered.state.failures == 0


def test_time_is_an_input_not_read_inside() -> None:
    state = ScalerState(last_work_at=NOW)
    policy = ScalingPolicy(scale_down_delay_s=0, idle_to_zero_s=60)
    assert decide(seen(0, 0, 1), policy, state, NOW + 59).desired == 1
    assert decide(seen(0, 0, 1), policy, state, NOW + 61).desired == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"min_replicas": 3, "max_replicas": 2}, "min_replicas (3) exceeds max_replicas (2)"),
        ({"min_replicas": -1}, "greater than or equal to 0"),
        ({"jobs_per_replica": 0}, "greater than or equal to 1"),
        ({"fallback_replicas": 20}, "fallback_replicas must lie between"),
        ({"max_queue_wait_s": 0}, "greater than 0"),
        ({"surprise": 1}, "Extra inputs are not permitted"),
        ({"max_batch_size": 0}, "greater than or equal to 1"),
        ({"max_batch_size": 65}, "less than or equal to 64"),
        ({"batch_wait_ms": -1}, "greater than or equal to 0"),
        ({"batch_wait_ms": 1001}, "less than or equal to 1000"),
    ],
)
def test_policy_validation(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ScalingPolicy(**fields)
