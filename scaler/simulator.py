"""A discrete-event simulation of one model's queue and worker pool under an autoscaler, with a
simulated clock: arrivals, cold starts, jobs, ticks, scale-in (drain or kill), all exact."""

from __future__ import annotations

import heapq
import itertools
import math
import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from scaler.sim_policies import ClusterView, SimPolicy
from scaler.sim_workload import Workload

# Same-time events resolve in this order: work arrives and finishes before a tick looks.
ARRIVAL, DONE, READY, KILL, TICK = range(5)
WAKE_SETTLE_S = 0.1  # as scaler.run: a nudged tick waits for the rest of the burst


@dataclass
class SimJob:
    index: int
    duration: float
    arrival: float
    client: int | None = None
    started: float | None = None
    done: float | None = None
    runs: int = 0


@dataclass
class SimWorker:
    index: int
    started: float
    ready_at: float
    ready: bool = False
    job: SimJob | None = None
    leaving: bool = False
    removed: float | None = None
    busy_s: float = 0.0


@dataclass(frozen=True)
class Sample:
    at: float
    replicas: int
    ready: int
    queued: int
    busy: int


@dataclass(frozen=True)
class SimResult:
    policy: str
    latencies: tuple[float, ...]
    total_s: float | None
    gpu_held_s: float
    gpu_busy_s: float
    max_replicas: int
    restarted_jobs: int
    unfinished_jobs: int
    time_to_zero_s: float | None
    timeline: tuple[Sample, ...]

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile of the finished jobs' latencies."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] if ordered else None

    def summary(self) -> dict[str, Any]:
        def seconds(value: float | None) -> float | None:
            return None if value is None else round(value, 2)

        return {
            "policy": self.policy,
            "p50_s": seconds(self.percentile(50)),
            "p90_s": seconds(self.percentile(90)),
            "p95_s": seconds(self.percentile(95)),
            "p99_s": seconds(self.percentile(99)),
            "mean_s": seconds(statistics.fmean(self.latencies) if self.latencies else None),
            "total_s": seconds(self.total_s),
            "gpu_held_s": round(self.gpu_held_s, 1),
            "gpu_busy_s": round(self.gpu_busy_s, 1),
            "utilization": round(self.gpu_busy_s / self.gpu_held_s, 3) if self.gpu_held_s else 0,
            "max_replicas": self.max_replicas,
            "restarted_jobs": self.restarted_jobs,
            "unfinished_jobs": self.unfinished_jobs,
            "time_to_zero_s": None
            if self.time_to_zero_s is None
            else round(self.time_to_zero_s, 1),
        }


@dataclass
class _Simulation:
    workload: Workload
    policy: SimPolicy
    cold_start_s: float
    tick_phase: float
    horizon_s: float
    max_time_s: float
    now: float = 0.0
    events: list[tuple[float, int, int, Any]] = field(default_factory=list)
    queue: deque[SimJob] = field(default_factory=deque)
    workers: list[SimWorker] = field(default_factory=list)
    jobs: list[SimJob] = field(default_factory=list)
    next_job: int = 0
    client_left: dict[int, int] = field(default_factory=dict)
    restarted: int = 0
    timeline: list[Sample] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def push(self, at: float, kind: int, payload: Any = None) -> None:
        heapq.heappush(self.events, (at, kind, next(self._seq), payload))

    # Work

    def arrive(self, client: int | None) -> None:
        index = self.next_job
        self.next_job += 1
        job = SimJob(index, self.workload.durations[index], self.now, client)
        self.jobs.append(job)
        wake = self.policy.wake
        if (wake == "empty_queue" and not self.queue) or (
            wake == "zero_pods" and not self.active()
        ):
            self.push(self.now + WAKE_SETTLE_S, TICK, "wake")
        self.queue.append(job)

    def dispatch(self) -> None:
        for worker in self.workers:
            if not self.queue:
                return
            if (
                worker.ready
                and worker.job is None
                and not worker.leaving
                and worker.removed is None
            ):
                job = self.queue.popleft()
                job.started, job.runs = self.now, job.runs + 1
                worker.job = job
                self.push(self.now + job.duration, DONE, (worker, job))

    def finish(self, worker: SimWorker, job: SimJob) -> None:
        if worker.job is not job:  # the attempt was killed meanwhile
            return
        assert job.started is not None
        worker.busy_s += self.now - job.started
        worker.job, job.done = None, self.now
        if worker.leaving:
            self.remove(worker)
        if job.client is not None and self.client_left[job.client] > 0:
            self.client_left[job.client] -= 1
            self.arrive(job.client)

    def kill(self, worker: SimWorker, job: SimJob) -> None:
        """A leaving worker's grace ran out mid-job: the job goes back to the head of the queue."""
        if worker.removed is not None or worker.job is not job:
            return
        assert job.started is not None
        worker.busy_s += self.now - job.started
        worker.job, job.started = None, None
        self.restarted += 1
        self.queue.appendleft(job)
        self.remove(worker)

    # Pool

    def active(self) -> list[SimWorker]:
        return [w for w in self.workers if w.removed is None and not w.leaving]

    def remove(self, worker: SimWorker) -> None:
        worker.removed = self.now

    def scale(self, desired: int) -> None:
        active = self.active()
        if desired > len(active):
            for _ in range(desired - len(active)):
                worker = SimWorker(len(self.workers), self.now, self.now + self.cold_start_s)
                self.workers.append(worker)
                self.push(worker.ready_at, READY, worker)
            return
        excess = len(active) - desired
        newest_first = sorted(active, key=lambda w: (w.ready, w.started), reverse=True)
        starting = [w for w in newest_first if not w.ready]
        idle = [w for w in newest_first if w.ready and w.job is None]
        if self.policy.scale_in == "idle_only":
            victims = (starting + idle)[:excess]
        else:
            victims = (starting + [w for w in newest_first if w.ready])[:excess]
        for worker in victims:
            if worker.job is None:
                self.remove(worker)
                continue
            worker.leaving = True
            assert worker.job.started is not None
            if worker.job.started + worker.job.duration > self.now + self.policy.grace_s:
                self.push(self.now + self.policy.grace_s, KILL, (worker, worker.job))

    def view(self) -> ClusterView:
        active = self.active()
        oldest = self.now - self.queue[0].arrival if self.queue else None
        busy = sum(1 for w in self.workers if w.job is not None)
        return ClusterView(len(self.queue), busy, oldest, len(active), sum(w.ready for w in active))

    def sample(self) -> None:
        view = self.view()
        live = sum(1 for w in self.workers if w.removed is None)
        self.timeline.append(Sample(self.now, live, view.ready, view.queued, view.busy))

    # Run

    def run(self) -> SimResult:
        workload = self.workload
        if workload.clients is not None:
            per_client, extra = divmod(workload.jobs, workload.clients)
            for client in range(workload.clients):
                self.client_left[client] = per_client + (1 if client < extra else 0) - 1
                self.push(0.0, ARRIVAL, client)
        else:
            assert workload.arrivals is not None
            for at in workload.arrivals:
                self.push(at, ARRIVAL, None)
        self.push(self.tick_phase * self.policy.interval_s, TICK)
        give_up_at = max(workload.arrivals or (0.0,)) + self.max_time_s
        last_done: float | None = None
        zero_at: float | None = None
        while self.events:
            at, kind, _, payload = heapq.heappop(self.events)
            self.now = at
            if kind == ARRIVAL:
                self.arrive(payload)
            elif kind == DONE:
                self.finish(*payload)
            elif kind == READY:
                payload.ready = True
            elif kind == KILL:
                self.kill(*payload)
            else:
                self.scale(self.policy.tick(self.view(), self.now))
            self.dispatch()
            self.sample()
            all_done = len(self.jobs) == workload.jobs and all(
                j.done is not None for j in self.jobs
            )
            if all_done:
                last_done = last_done or max(j.done or 0.0 for j in self.jobs)
                if not any(w.removed is None for w in self.workers):
                    zero_at = self.now
                    break
                if self.now >= last_done + self.horizon_s:
                    break
            elif self.now >= give_up_at:  # e.g. a policy that kills the same long job forever
                break
            if kind == TICK and payload != "wake":
                self.push(self.now + self.policy.interval_s, TICK)
        end = self.now
        held = sum((w.removed if w.removed is not None else end) - w.started for w in self.workers)
        latencies = tuple(j.done - j.arrival for j in self.jobs if j.done is not None)
        finished = [j.done for j in self.jobs if j.done is not None]
        first = min((j.arrival for j in self.jobs), default=0.0)
        live = [s.replicas for s in self.timeline]
        return SimResult(
            policy=self.policy.name,
            latencies=latencies,
            total_s=max(finished) - first if finished else None,
            gpu_held_s=held,
            gpu_busy_s=sum(w.busy_s for w in self.workers),
            max_replicas=max(live, default=0),
            restarted_jobs=self.restarted,
            unfinished_jobs=workload.jobs - len(finished),
            time_to_zero_s=None if zero_at is None or last_done is None else zero_at - last_done,
            timeline=tuple(self.timeline),
        )


def simulate(
    workload: Workload,
    policy: SimPolicy,
    cold_start_s: float = 0.0,
    tick_phase: float = 0.5,
    horizon_s: float = 3600.0,
    max_time_s: float = 86_400.0,
) -> SimResult:
    """Replay `workload` under `policy`, starting from zero workers. The policy's first tick
    comes `tick_phase` of an interval after the start; after the last job the run continues
    until the pool is back at zero or `horizon_s` has passed; jobs still unfinished
    `max_time_s` after the last arrival are reported as unfinished."""
    if cold_start_s < 0 or not 0 <= tick_phase < 1:
        raise ValueError("cold_start_s must be >= 0 and tick_phase in [0, 1)")
    return _Simulation(workload, policy, cold_start_s, tick_phase, horizon_s, max_time_s).run()
