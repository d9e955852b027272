"""The what-if simulator: workloads, the three autoscalers on a simulated clock, accounting."""

from __future__ import annotations

import random

import pytest

from scaler.sim_policies import KedaLlenPolicy, KpaLikePolicy, SdqPolicy
from scaler.sim_workload import Workload, closed_loop, parse_job_time, poisson, trace
from scaler.simulator import simulate
from sdq.scaling_policy import ScalingPolicy

TEN = parse_job_time("10")


def hey(requests: int = 50, clients: int = 5) -> Workload:
    return closed_loop(requests, clients, TEN, seed=1)


def test_hey_closed_loop_without_cold_start_takes_the_ideal_time_within_one_poll() -> None:
    sdq = SdqPolicy(interval_s=2.0)
    result = simulate(hey(), sdq, cold_start_s=0)
    assert result.total_s is not None
    assert 100 <= result.total_s <= 100 + sdq.interval_s
    assert result.max_replicas == 5 and result.restarted_jobs == 0
    assert result.gpu_busy_s == pytest.approx(500)


def test_cold_start_delays_the_first_jobs_only() -> None:
    result = simulate(hey(), SdqPolicy(), cold_start_s=30)
    assert result.total_s is not None
    assert 130 <= result.total_s <= 132
    waited = [latency for latency in result.latencies if latency > 10.5]
    assert len(waited) == 5, "only each client's first job waits for the cold start"


def test_the_pool_returns_to_zero_after_the_idle_cooldown() -> None:
    policy = ScalingPolicy(idle_to_zero_s=120, scale_down_delay_s=30)
    result = simulate(hey(10, 2), SdqPolicy(policy), cold_start_s=5)
    assert result.time_to_zero_s is not None
    assert 120 - 2 <= result.time_to_zero_s <= 120 + 2  # the idle clock runs from the last tick
    assert result.timeline[-1].replicas == 0


def test_held_covers_busy_and_the_idle_tail() -> None:
    result = simulate(hey(), SdqPolicy(), cold_start_s=30)
    assert result.gpu_held_s > result.gpu_busy_s
    assert result.summary()["utilization"] == round(result.gpu_busy_s / result.gpu_held_s, 3)


def test_min_replicas_never_reach_zero_and_the_run_stops_at_the_horizon() -> None:
    policy = ScalingPolicy(min_replicas=1)
    result = simulate(hey(5, 1), SdqPolicy(policy), horizon_s=600)
    assert result.time_to_zero_s is None
    assert result.summary()["time_to_zero_s"] is None


def test_a_long_job_with_an_empty_queue_keeps_its_worker_under_sdq() -> None:
    workload = Workload(durations=(1200.0,), arrivals=(0.0,))
    result = simulate(workload, SdqPolicy(), cold_start_s=10)
    assert (result.restarted_jobs, result.unfinished_jobs) == (0, 0)
    assert result.latencies[0] == pytest.approx(1200 + 10 + 0.1)  # woken at once, cold start


def test_keda_on_llen_kills_a_long_job_after_its_cooldown_again_and_again() -> None:
    """LLEN reads 0 once the job is taken: after 300 s KEDA scales to zero under the running
    20-minute job, the requeued job wakes it again, and the job never finishes."""
    workload = Workload(durations=(1200.0,), arrivals=(0.0,))
    result = simulate(workload, KedaLlenPolicy(), cold_start_s=10, max_time_s=3 * 3600)
    assert result.unfinished_jobs == 1 and result.restarted_jobs >= 10
    assert result.total_s is None and result.summary()["p50_s"] is None


def test_keda_on_llen_never_sees_the_running_jobs() -> None:
    """5 closed-loop clients keep at most 4 jobs queued while one runs: LLEN asks for 4."""
    result = simulate(hey(), KedaLlenPolicy(), cold_start_s=0)
    assert result.max_replicas == 4
    assert result.total_s is not None and result.total_s > 120


def test_kpa_like_overprovisions_by_its_utilization_target_and_drops_to_zero_sooner() -> None:
    kpa = simulate(hey(), KpaLikePolicy(), cold_start_s=0)
    assert kpa.max_replicas == 8  # ceil(5 / 0.7)
    assert kpa.time_to_zero_s is not None and kpa.time_to_zero_s <= 60 + 30 + 2 * 2


def test_same_seed_same_result_different_seed_different() -> None:
    job_time = parse_job_time("exp:10")
    first = simulate(poisson(0.3, 60, job_time, seed=7), SdqPolicy(), cold_start_s=20)
    again = simulate(poisson(0.3, 60, job_time, seed=7), SdqPolicy(), cold_start_s=20)
    other = simulate(poisson(0.3, 60, job_time, seed=8), SdqPolicy(), cold_start_s=20)
    assert first.summary() == again.summary()
    assert first.latencies != other.latencies


@pytest.mark.parametrize(
    ("spec", "low", "high"),
    [
        ("10", 10, 10),
        ("uniform:8,12", 8, 12),
        ("exp:10", 0, 1000),
        ("normal:10,2", 0.1, 100),
        ("lognormal:10,0.5", 0, 1000),
    ],
)
def test_job_time_distributions(spec: str, low: float, high: float) -> None:
    sampler, rng = parse_job_time(spec), random.Random(3)
    draws = [sampler(rng) for _ in range(200)]
    assert all(low <= d <= high for d in draws)


@pytest.mark.parametrize("spec", ["0", "-1", "fast", "uniform:12,8", "exp:", "exp:0", "gamma:1,2"])
def test_bad_job_times_are_refused_by_name(spec: str) -> None:
    with pytest.raises(ValueError, match="job time"):
        parse_job_time(spec)


def test_trace_with_header_durations_and_unsorted_rows() -> None:
    workload = trace("arrival_s,duration_s\n105,3\n100\n# comment\n101,7.5\n", TEN, seed=1)
    assert workload.arrivals == (0.0, 1.0, 5.0)
    assert workload.durations == (10.0, 7.5, 3.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "no arrivals"), ("1\nx\n", "line 2"), ("1,-3\n", "duration must be > 0")],
)
def test_bad_traces(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        trace(text, TEN, seed=1)


@pytest.mark.parametrize(
    ("policy", "latency"),
    [(SdqPolicy(), 10.1), (KpaLikePolicy(), 10.1), (KedaLlenPolicy(), 7.5 + 10)],
    ids=["sdq is nudged by the job", "Knative's activator pokes", "KEDA waits for its poll"],
)
def test_activation_from_zero(
    policy: SdqPolicy | KpaLikePolicy | KedaLlenPolicy, latency: float
) -> None:
    workload = Workload(durations=(10.0,), arrivals=(0.0,))
    assert simulate(workload, policy).latencies == pytest.approx((latency,))
