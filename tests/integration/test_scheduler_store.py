"""The scheduler on a real Redis follows the pure rules of `sdq.scheduling` step for step: the job
each claim takes, and every queued job's position after each arrival and claim."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from sdq.job import Job, JobStatus, new_job_id
from sdq.scheduling import (
    FIFO,
    PRIORITIES,
    Affinity,
    QueueState,
    enqueue,
    next_job,
    queue_position,
)
from sdq.store import redis_keys as keys
from sdq.store.jobs import Claimed, claim_next, create_job, delete_job, get_job, queue_place
from sdq.store.ops import OpRunner
from tests.integration.test_store import RETENTION

# Steps: "+ priority tenant name [adapters]" (a job arrives, asking for these one-letter
# adapters) or "claim [held]" (a free worker holding these adapters takes one).
SCENARIOS = [
    pytest.param(
        ["+ 1 a a1", "+ 1 a a2", "+ 1 a a3", "+ 1 b b1", "claim"] + ["claim"] * 4, id="late"
    ),
    pytest.param(
        ["+ 1 a a1", "claim", "+ 1 a a2", "+ 1 b b1", "+ 1 c c1", "+ 1 a a3", "+ 1 b b2"]
        + ["claim"] * 6,
        id="three-tenants",
    ),
    pytest.param(
        ["+ 2 a a1", "+ 1 a a2", "+ 1 b b1", "+ 0 c c1", "+ 1 b b2", "claim", "+ 0 a a3"]
        + ["claim"] * 5,
        id="priorities",
    ),
    pytest.param(["claim", "+ 1 z z1", "claim", "claim"], id="empty-claims"),
    pytest.param(
        ["+ 1 a a1 x", "+ 1 a a2 y", "+ 1 a a3", "+ 1 b b1 y", "claim y", "claim y", "claim x"]
        + ["claim"] * 2,
        id="adapters-within-a-turn",
    ),
    pytest.param(
        ["+ 1 a a1 x", "+ 1 a a2 yz", "+ 1 a a3 y", "+ 1 a a4 y", "+ 1 a a5 y", "+ 1 a a6 y"]
        + ["claim y"] * 6,
        id="adapters-passed-over-at-most-twice",
    ),
    pytest.param(
        ["+ 1 a a1 x", "+ 2 a a2 y", "+ 0 b b1 x", "+ 1 c c1 y", "claim y", "claim y"]
        + ["claim y"] * 3,
        id="adapters-never-cross-priorities-or-tenants",
    ),
]
AFFINITY = {"window": 8, "max_passes": 2}


def submit(store: OpRunner, model: str, priority: int, tenant: str, adapters: str = "") -> Job:
    loras = [{"name": name, "scale": 1.0} for name in adapters]
    job = Job(
        id=new_job_id(),
        model=model,
        input={"prompt": "dog", "loras": loras} if loras else {"prompt": "dog"},
        created_at=time.time(),
        tenant=tenant,
        priority=priority,
    )
    assert store.run(create_job(job, RETENTION)).created
    return job


def claim(store: OpRunner, model: str, affinity: Affinity = FIFO) -> Job | None:
    op = claim_next(
        model, worker_id="w1", retention_s=RETENTION, now=time.time(), affinity=affinity
    )
    return store.run(op).job


@pytest.mark.parametrize("steps", SCENARIOS)
def test_redis_takes_jobs_and_counts_positions_as_the_pure_rules_do(
    redis_client: redis.Redis, steps: list[str]
) -> None:
    store = OpRunner(redis_client)
    model = f"sched/{uuid.uuid4().hex[:8]}"
    state = QueueState()
    ids: dict[str, str] = {}  # name -> job id
    for step in steps:
        if step.startswith("claim"):
            affinity = Affinity(frozenset(step.removeprefix("claim").strip()), **AFFINITY)
            taken = next_job(state, affinity)
            job = claim(store, model, affinity)
            if taken is None:
                assert job is None
                continue
            name, state = taken
            assert job is not None and job.id == ids[name], f"{step}: expected {name}"
            assert job.status is JobStatus.RUNNING
        else:
            _, priority, tenant, name, *adapters = step.split()
            wants = "".join(adapters)
            ids[name] = submit(store, model, int(priority), tenant, wants).id
            state = enqueue(state, int(priority), tenant, name, frozenset(wants))
        for name, job_id in ids.items():
            place = store.run(queue_place(job_id))
            expected = queue_position(state, name)
            assert (place.position if place else None) == expected, f"after {step}: {name}"
        for level in PRIORITIES:
            waiting = sum(len(jobs) for (p, _), jobs in state.queues.items() if p == level)
            assert int(redis_client.get(keys.sched_count(model, level)) or 0) == waiting


def test_positions_behind_more_than_a_hundred_tenants(redis_client: redis.Redis) -> None:
    """Past 100 tenants the script stops reading each one; the position stays right when each
    has a job for every turn before the job's."""
    store = OpRunner(redis_client)
    model = f"sched/{uuid.uuid4().hex[:8]}"
    state = QueueState()
    ids: dict[str, str] = {}
    for round_ in range(2):
        for index in range(150):
            tenant = f"t{index:04d}"
            name = f"{tenant}-{round_}"
            ids[name] = submit(store, model, 1, tenant).id
            state = enqueue(state, 1, tenant, name)
    for name in ("t0000-1", "t0099-1", "t0120-1", "t0149-1", "t0120-0"):
        place = store.run(queue_place(ids[name]))
        assert place is not None and place.position == queue_position(state, name), name


def test_an_expired_job_is_aborted_on_the_way_and_the_next_one_starts(
    redis_client: redis.Redis,
) -> None:
    store = OpRunner(redis_client)
    model = f"sched/{uuid.uuid4().hex[:8]}"
    expired = Job(
        id=new_job_id(),
        model=model,
        input={"prompt": "dog"},
        created_at=time.time() - 10,
        deadline_at=time.time() - 1,
    )
    assert store.run(create_job(expired, RETENTION)).created
    fresh = submit(store, model, 1, "default")
    claimed = store.run(claim_next(model, worker_id="w1", retention_s=RETENTION, now=time.time()))
    assert claimed.job is not None and claimed.job.id == fresh.id
    assert claimed.aborted == 1
    gone = store.run(get_job(expired.id))
    assert gone is not None and gone.status is JobStatus.ABORTED


def test_a_queued_job_missing_from_the_tenant_queues_is_taken_first(
    redis_client: redis.Redis,
) -> None:
    """A job queued by a version without the scheduling structures (or by an older replica during
    a rolling upgrade) is the oldest: it is taken before the scheduled ones, not starved."""
    store = OpRunner(redis_client)
    model = f"sched/{uuid.uuid4().hex[:8]}"
    old = submit(store, model, 1, "legacy")
    redis_client.delete(keys.sched_jobs(model, 1, "legacy"), keys.sched_tenants(model, 1))
    new = submit(store, model, 0, "fresh")
    place = store.run(queue_place(old.id))
    assert place is not None and place.position == 0
    taken = [claim(store, model), claim(store, model)]
    assert [job.id if job else None for job in taken] == [old.id, new.id]
    assert claim(store, model) is None


def test_a_repeated_claim_of_one_delivery_answers_with_the_same_job(
    redis_client: redis.Redis,
) -> None:
    """A claim whose reply was lost and is sent again (the client retries) must not start a second
    job and leave the first running with nobody on it."""
    store = OpRunner(redis_client)
    model = f"sched/{uuid.uuid4().hex[:8]}"
    first, second = submit(store, model, 1, "a"), submit(store, model, 1, "a")

    def claim_as(worker: str, delivery: str) -> Job | None:
        op = claim_next(
            model, worker_id=worker, retention_s=RETENTION, now=time.time(), delivery_id=delivery
        )
        return store.run(op).job

    once, again = claim_as("w1", "task-1"), claim_as("w1", "task-1")
    assert once is not None and again is not None
    assert once.id == again.id == first.id and again.attempt == 1
    assert claim_as("w2", "task-1") is None, "a redelivery to another worker claims nothing"
    other = claim_as("w2", "task-2")
    assert other is not None and other.id == second.id


def test_a_claim_passes_over_at_most_its_limit(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    model = f"sched/{uuid.uuid4().hex[:8]}"
    for _ in range(3):
        expired = Job(
            id=new_job_id(),
            model=model,
            input={},
            created_at=time.time() - 10,
            deadline_at=time.time() - 1,
        )
        assert store.run(create_job(expired, RETENTION)).created
    fresh = submit(store, model, 1, "default")
    op = claim_next(model, worker_id="w1", retention_s=RETENTION, now=time.time(), pass_limit=2)
    assert store.run(op) == Claimed(None, 2)
    claimed = store.run(claim_next(model, worker_id="w1", retention_s=RETENTION, now=time.time()))
    assert claimed.job is not None and claimed.job.id == fresh.id and claimed.aborted == 1


def test_a_job_a_worker_started_is_not_deleted(redis_client: redis.Redis) -> None:
    """When the API cannot send a new job's token it deletes the job, unless a worker holding a
    spare token took it meanwhile: that job runs."""
    store = OpRunner(redis_client)
    model = f"sched/{uuid.uuid4().hex[:8]}"
    job = submit(store, model, 1, "a")
    assert claim(store, model) is not None
    assert store.run(delete_job(job)) is False
    running = store.run(get_job(job.id))
    assert running is not None and running.status is JobStatus.RUNNING
    queued = submit(store, model, 1, "a")
    assert store.run(delete_job(queued)) is True
    assert store.run(get_job(queued.id)) is None
    assert store.run(queue_place(queued.id)) is None
    assert int(redis_client.get(keys.sched_count(model, 1)) or 0) == 0


def test_admission_is_checked_where_the_job_is_created(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    model = f"sched/{uuid.uuid4().hex[:8]}"
    submit(store, model, 1, "a")
    submit(store, model, 2, "a")
    job = Job(id=new_job_id(), model=model, input={}, created_at=time.time(), tenant="a")
    refused = store.run(create_job(job, RETENTION, tenant_max_queued=2))
    assert (refused.outcome.name, refused.queued, refused.tenant_queued) == ("TENANT_FULL", 2, 2)
    refused = store.run(create_job(job, RETENTION, max_queued=2))
    assert (refused.outcome.name, refused.queued) == ("MODEL_FULL", 2)
    assert store.run(get_job(job.id)) is None, "nothing written for a refused submit"
    other = Job(id=new_job_id(), model=model, input={}, created_at=time.time(), tenant="b")
    assert store.run(create_job(other, RETENTION, tenant_max_queued=2, max_queued=3)).created
