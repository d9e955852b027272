"""Which queued job of a model a free worker takes next, and a job's place in that order (pure).

Priority first (0 most urgent … 2), then fair share between tenants within a priority: the tenant
with the least recent service goes first, FIFO within a tenant. Service is counted per model by a
claim counter: a claim makes its tenant the most recently served. A tenant new to the model counts
as served just before the latest claim, so it waits behind tenants that have waited longer and goes
before the one served last. Ties (only among tenants new between the same two claims) go by name.
The store's Lua scripts (`sdq/store/jobs_schedule.lua`) implement the same rules on Redis; the
tests hold the two to one table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

PRIORITIES = (0, 1, 2)
DEFAULT_PRIORITY = 1
MOST_URGENT = PRIORITIES[0]
LEAST_URGENT = PRIORITIES[-1]


@dataclass(frozen=True)
class QueueState:
    """One model's queued work as the scheduler sees it.

    `queues[(priority, tenant)]` holds that tenant's queued job ids at that priority, oldest
    first; `served[tenant]` is the claim count at the tenant's last service (lower: served less
    recently); `claims` is how many claims the model has seen.
    """

    queues: Mapping[tuple[int, str], Sequence[str]] = field(default_factory=dict)
    served: Mapping[str, float] = field(default_factory=dict)
    claims: int = 0


def arrival_score(state: QueueState, tenant: str) -> float:
    """The service score of a tenant whose job arrives: its last service, or (new to the model)
    just before the latest claim."""
    return state.served.get(tenant, state.claims - 0.5)


def enqueue(state: QueueState, priority: int, tenant: str, job_id: str) -> QueueState:
    """The state after one more job arrives (at the back of its tenant's queue)."""
    queues = dict(state.queues)
    queues[(priority, tenant)] = [*queues.get((priority, tenant), ()), job_id]
    served = dict(state.served)
    served[tenant] = arrival_score(state, tenant)
    return replace(state, queues=queues, served=served)


def _tenants_in_order(state: QueueState, priority: int) -> list[str]:
    waiting = [t for (p, t), jobs in state.queues.items() if p == priority and jobs]
    return sorted(waiting, key=lambda tenant: (state.served[tenant], tenant))


def next_job(state: QueueState) -> tuple[str, QueueState] | None:
    """The job a free worker takes now, and the state after it was taken (None: nothing queued)."""
    for priority in PRIORITIES:
        tenants = _tenants_in_order(state, priority)
        if not tenants:
            continue
        tenant = tenants[0]
        job_id, *rest = state.queues[(priority, tenant)]
        queues = dict(state.queues)
        queues[(priority, tenant)] = rest
        claims = state.claims + 1
        served = dict(state.served)
        served[tenant] = claims
        return job_id, QueueState(queues=queues, served=served, claims=claims)
    return None


def claim_order(state: QueueState) -> list[str]:
    """Every queued job in the order free workers would take them if nothing else arrived."""
    order: list[str] = []
    while (taken := next_job(state)) is not None:
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
