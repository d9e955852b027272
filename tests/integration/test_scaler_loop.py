"""The scaler loop on a real Redis with a fake clock and a recording actuator (our own seam)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from scaler.actuator import Replicas
from scaler.loop import ScalerLoop
from scaler.run import wait_for_new_work
from sdq.job import Transition
from sdq.scaling_policy import ScalingPolicy
from sdq.store import heartbeats
from sdq.store import redis_keys as keys
from sdq.store.heartbeats import Heartbeat, WorkerState
from sdq.store.jobs import transition
from sdq.store.model_health import record_failure, record_loaded
from sdq.store.ops import OpRunner
from sdq.store.scaling import policy_changes, put_policy
from tests.helpers import stream_entries
from tests.integration.test_store import claim, new_job


@dataclass
class RecordingActuator:
    counts: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[str, int, frozenset[str]]] = field(default_factory=list)
    slots: dict[str, int] = field(default_factory=dict)

    def capacity(self, model_id: str) -> int | None:
        return self.slots.get(model_id)

    def replicas(self, model_id: str) -> Replicas:
        count = self.counts.get(model_id, 0)
        return Replicas(count, count)

    def scale(self, model_id: str, desired: int, busy_worker_ids: frozenset[str]) -> None:
        self.calls.append((model_id, desired, busy_worker_ids))
        self.counts[model_id] = desired


@dataclass
class FakeClock:
    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now


POLICY = ScalingPolicy(scale_down_delay_s=30, idle_to_zero_s=60)


def make_loop(store: OpRunner, actuator: RecordingActuator, clock: FakeClock) -> ScalerLoop:
    return ScalerLoop(
        store, actuator, ["sdq/tiny"], {"sdq/tiny": POLICY}, heartbeat_ttl_s=1e9, clock=clock
    )


def busy(worker: str, job_id: str) -> Heartbeat:
    return Heartbeat(
        worker_id=worker, host="h", pid=1, model="sdq/tiny", state=WorkerState.BUSY, job_id=job_id,
        started_at=time.time(), seen_at=time.time(),
    )  # fmt: skip


def test_burst_scales_up_holds_busy_then_goes_to_zero_after_cooldown(
    redis_client: redis.Redis,
) -> None:
    store, actuator, clock = OpRunner(redis_client), RecordingActuator(), FakeClock()
    loop = make_loop(store, actuator, clock)
    assert loop.tick()["sdq/tiny"].desired == 0 and actuator.calls == []

    jobs = [new_job(store) for _ in range(3)]
    loop.tick()
    assert actuator.counts["sdq/tiny"] == 3

    for index, job in enumerate(jobs[:2]):  # two run, one finishes queued->running->done below
        claim(store, job.id, f"w{index}")
        store.run(heartbeats.publish(busy(f"w{index}", job.id), 1e6))
    store.run(transition(Transition.CANCEL_QUEUED, jobs[2].id, retention_s=60, now=time.time()))
    clock.now += 10
    decision = loop.tick()["sdq/tiny"]
    assert decision.desired == 3 and "stabilizing" in decision.reason  # the window holds it

    clock.now += 31
    decision = loop.tick()["sdq/tiny"]
    assert decision.desired == 2 and actuator.calls[-1] == ("sdq/tiny", 2, frozenset({"w0", "w1"}))

    for index in range(2):  # both finish: no work left
        redis_client.delete(keys.worker(f"w{index}"))
        redis_client.zrem(keys.workers_index(), f"w{index}")
    clock.now += 31
    assert loop.tick()["sdq/tiny"].desired == 1  # idle, but not yet for idle_to_zero_s
    clock.now += 61
    assert loop.tick()["sdq/tiny"].desired == 0

    events = [
        json.loads(f["event"]) for _, f in stream_entries(redis_client, keys.scaling_events())
    ]
    assert [(e["from"], e["to"]) for e in events] == [(0, 3), (3, 2), (2, 1), (1, 0)]
    assert all(e["reason"] and e["model"] == "sdq/tiny" for e in events)


def test_policy_changes_take_effect_on_the_next_tick_and_are_recorded(
    redis_client: redis.Redis,
) -> None:
    store, actuator, clock = OpRunner(redis_client), RecordingActuator(), FakeClock()
    loop = make_loop(store, actuator, clock)
    for _ in range(5):
        new_job(store)
    loop.tick()
    assert actuator.counts["sdq/tiny"] == 5  # one per queued job
    store.run(
        put_policy(
            "sdq/tiny", POLICY.model_copy(update={"max_replicas": 2}), "ops@example", clock.now
        )
    )
    clock.now += 1
    assert loop.tick()["sdq/tiny"].desired == 2
    [change] = store.run(policy_changes())
    assert change["who"] == "ops@example" and change["before"] == ""
    assert json.loads(change["after"])["max_replicas"] == 2


def test_unreachable_redis_holds_the_current_size(redis_client: redis.Redis) -> None:
    actuator, clock = RecordingActuator(counts={"sdq/tiny": 2}), FakeClock()
    unreachable = redis.Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    dead = OpRunner(unreachable)
    loop = make_loop(dead, actuator, clock)
    for _ in range(5):
        decision = loop.tick()["sdq/tiny"]
        clock.now += 5
    assert decision.desired == 2 and "holding 2" in decision.reason
    assert actuator.calls == []


def test_the_scaler_wakes_for_new_work_instead_of_sleeping_out_its_interval(
    redis_client: redis.Redis,
) -> None:
    store = OpRunner(redis_client)
    waiter = threading.Thread(target=wait_for_new_work, args=(store, 120.0))
    waiter.start()
    time.sleep(0.2)
    new_job(store)
    waiter.join(timeout=30)
    assert not waiter.is_alive(), "a first queued job ends the scaler's wait"
    assert redis_client.llen(keys.scaler_wake()) == 0, "the nudge is consumed"


def test_the_actuators_capacity_bounds_the_policy(redis_client: redis.Redis) -> None:
    """On one CPU machine a burst gets one worker, not ten fighting over the cores."""
    store, clock = OpRunner(redis_client), FakeClock()
    actuator = RecordingActuator(slots={"sdq/tiny": 1})
    loop = make_loop(store, actuator, clock)
    for _ in range(5):
        new_job(store)
    decision = loop.tick()["sdq/tiny"]
    assert decision.desired == 1 and "clamped to [0, 1]" in decision.reason
    assert actuator.counts["sdq/tiny"] == 1


def test_a_model_that_fails_to_load_is_restarted_only_after_a_growing_wait(
    redis_client: redis.Redis,
) -> None:
    """Its worker process dies at once; the next one starts after 10 s, then 20 s (the default
    backoff), and the reason says so; a successful load ends the waits."""
    store, actuator, clock = OpRunner(redis_client), RecordingActuator(), FakeClock()
    loop = make_loop(store, actuator, clock)
    new_job(store)
    assert loop.tick()["sdq/tiny"].desired == 1
    for attempt, wait in ((1, 10), (2, 20)):
        cause = "sdq/tiny was not found on the Hub"
        store.run(record_failure("sdq/tiny", "not_found", cause, clock.now))
        actuator.counts["sdq/tiny"] = 0  # the worker exited
        decision = loop.tick()["sdq/tiny"]
        times = "time" if attempt == 1 else "times"
        assert decision.desired == 0, decision.reason
        assert f"failed to load {attempt} {times} in a row ({cause}); next try in {wait} s" in (
            decision.reason
        )
        clock.now += wait - 1
        assert loop.tick()["sdq/tiny"].desired == 0, "not restarted before the wait is over"
        clock.now += 1
        assert loop.tick()["sdq/tiny"].desired == 1
    store.run(record_loaded("sdq/tiny"))
    actuator.counts["sdq/tiny"] = 0
    assert loop.tick()["sdq/tiny"].desired == 1, "loaded once: no wait any more"
