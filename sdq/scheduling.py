"""Which queued job of a model a free worker takes next, and a job's place in that order (pure).

Priority first (0 most urgent … 2), then fair share between tenants within a priority: the tenant
with the least recent service goes first, FIFO within a tenant. Service is counted per model by a
claim counter: a claim makes its tenant the most recently served. A tenant new to the model counts
as served just before the latest claim, so it waits behind tenants that have waited longer and goes
before the one served last. Ties (only among tenants new between the same two claims) go by name.
Within the turn of a tenant, a worker that holds LoRA adapters prefers a job it can run without
loading one: among the tenant's `window` oldest jobs at that priority, the one that needs the
fewest adapter loads, the oldest among equals. A job passed over `max_passes` times is taken when
its turn comes, so the preference delays a job by a bounded number of claims; it never moves work
across priorities or tenants. The store's Lua scripts (`sdq/store/jobs_schedule.lua`) implement
the same rules on Redis; the tests hold the two to one table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

PRIORITIES = (0, 1, 2)
DEFAULT_PRIORITY = 1
MOST_URGENT = PRIORITIES[0]
LEAST_URGENT = PRIORITIES[-1]
NO_ADAPTERS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Affinity:
    """A free worker's adapter preference: the adapters it holds, how many of the tenant's oldest
    jobs it looks at (1: plain FIFO), and how often one job may be passed over."""

    held: frozenset[str] = NO_ADAPTERS
    window: int = 1
    max_passes: int = 0


FIFO = Affinity()


@dataclass(frozen=True)
class Candidate:
    """One of a tenant's oldest queued jobs, as the adapter preference sees it."""

    adapters: frozenset[str] = NO_ADAPTERS
    passed: int = 0  # times a claim took a younger job of the tenant before it


def choose(candidates: Sequence[Candidate], affinity: Affinity) -> int:
    """Which of a tenant's oldest jobs (oldest first, at least one) a free worker takes: the one
    needing the fewest adapter loads, the oldest among equals, but never one behind a job already
    passed over `max_passes` times (taking it would pass that job over once more)."""
    best, best_loads = 0, len(candidates[0].adapters - affinity.held)
    for index, candidate in enumerate(candidates[: max(1, affinity.window)]):
        loads = len(candidate.adapters - affinity.held)
        if loads < best_loads:
            best, best_loads = index, loads
        if best_loads == 0 or candidate.passed >= affinity.max_passes:
            break
    return best


@dataclass(frozen=True)
class QueueState:
    """One model's queued work as the scheduler sees it.

    `queues[(priority, tenant)]` holds that tenant's queued job ids at that priority, oldest
    first; `served[tenant]` is the claim count at the tenant's last service (lower: served less
    recently); `claims` is how many claims the model has seen; `adapters[job]` the adapters a
    queued job asks for (absent: none) and `passed[job]` how often it was passed over.
    """

    queues: Mapping[tuple[int, str], Sequence[str]] = field(default_factory=dict)
    served: Mapping[str, float] = field(default_factory=dict)
    claims: int = 0
    adapters: Mapping[str, frozenset[str]] = field(default_factory=dict)
    passed: Mapping[str, int] = field(default_factory=dict)


def arrival_score(state: QueueState, tenant: str) -> float:
    """The service score of a tenant whose job arrives: its last service, or (new to the model)
    just before the latest claim."""
    return state.served.get(tenant, state.claims - 0.5)


def enqueue(
    state: QueueState,
    priority: int,
    tenant: str,
    job_id: str,
    adapters: frozenset[str] = NO_ADAPTERS,
) -> QueueState:
    """The state after one more job arrives (at the back of its tenant's queue)."""
    queues = dict(state.queues)
    queues[(priority, tenant)] = [*queues.get((priority, tenant), ()), job_id]
    served = dict(state.served)
    served[tenant] = arrival_score(state, tenant)
    wants = {**state.adapters, job_id: adapters} if adapters else state.adapters
    return replace(state, queues=queues, served=served, adapters=wants)


def _tenants_in_order(state: QueueState, priority: int) -> list[str]:
    waiting = [t for (p, t), jobs in state.queues.items() if p == priority and jobs]
    return sorted(waiting, key=lambda tenant: (state.served[tenant], tenant))


def next_job(state: QueueState, affinity: Affinity = FIFO) -> tuple[str, QueueState] | None:
    """The job a free worker takes now, and the state after it was taken (None: nothing queued)."""
    for priority in PRIORITIES:
        tenants = _tenants_in_order(state, priority)
        if not tenants:
            continue
        tenant = tenants[0]
        waiting = list(state.queues[(priority, tenant)])
        candidates = [
            Candidate(state.adapters.get(job, NO_ADAPTERS), state.passed.get(job, 0))
            for job in waiting[: max(1, affinity.window)]
        ]
        taken = choose(candidates, affinity)
        job_id = waiting.pop(taken)
        queues = dict(state.queues)
        queues[(priority, tenant)] = waiting
        claims = state.claims + 1
        served = dict(state.served)
        served[tenant] = claims
        passed = {job: count for job, count in state.passed.items() if job != job_id}
        for job in waiting[:taken]:
            passed[job] = passed.get(job, 0) + 1
        adapters = {job: names for job, names in state.adapters.items() if job != job_id}
        return job_id, QueueState(queues, served, claims, adapters, passed)
    return None


def claim_order(state: QueueState, affinity: Affinity = FIFO) -> list[str]:
    """Every queued job in the order free workers would take them if nothing else arrived (each
    with the same adapter preference)."""
    order: list[str] = []
    while (taken := next_job(state, affinity)) is not None:
        job_id, state = taken
        order.append(job_id)
    return order


def queue_position(state: QueueState, job_id: str) -> int | None:
    """How many queued jobs would be taken before this one (0: it is next); None if not queued.

    Every more urgent job counts; within the job's priority the tenants take turns in their
    current order. Exact when nothing else arrives and the more urgent queues are empty (their
    claims may reorder the turns); an estimate otherwise.
    """
    found = next(
        ((p, t, jobs.index(job_id)) for (p, t), jobs in state.queues.items() if job_id in jobs),
        None,
    )
    if found is None:
        return None
    priority, tenant, own = found
    ahead = sum(len(jobs) for (p, _), jobs in state.queues.items() if p < priority)
    order = _tenants_in_order(state, priority)
    rank = order.index(tenant)
    for index, other in enumerate(order):
        if other != tenant:
            waiting = len(state.queues[(priority, other)])
            ahead += min(waiting, own + 1 if index < rank else own)
    return ahead + own
