"""The job store on a real Redis: atomic, fenced transitions; terminal states never overwritten."""

from __future__ import annotations

import threading
import time

import redis

from sdq.job import EventType, Job, JobStatus, Transition, new_job_id
from sdq.store import redis_keys as keys
from sdq.store.jobs import (
    append_event,
    cancel_requested,
    create_job,
    delete_job,
    get_job,
    list_jobs,
    request_cancel,
    running_job_ids,
    transition,
)
from sdq.store.ops import OpRunner
from tests.helpers import stream_entries

RETENTION = 3600


def new_job(
    store: OpRunner,
    created_at: float | None = None,
    tenant: str = "default",
    model: str = "sdq/tiny",
) -> Job:
    job = Job(
        id=new_job_id(),
        model=model,
        input={"prompt": "dog"},
        created_at=created_at or time.time(),
        tenant=tenant,
    )
    assert store.run(create_job(job, RETENTION)).created
    return job


def claim(store: OpRunner, job_id: str, worker: str) -> Job | None:
    return store.run(
        transition(
            Transition.CLAIM,
            job_id,
            retention_s=RETENTION,
            fields={"worker_id": worker, "started_at": time.time()},
            now=time.time(),
        )
    )


def requeue(store: OpRunner, job_id: str, *, attempt: int, worker: str) -> Job | None:
    """The recovery step for a worker lost mid-job: the attempt goes back to the queue."""
    return store.run(
        transition(
            Transition.REQUEUE,
            job_id,
            attempt=attempt,
            worker_id=worker,
            retention_s=RETENTION,
            now=time.time(),
        )
    )


def finish(
    store: OpRunner, job: Job, status: JobStatus, worker: str, **fields: object
) -> Job | None:
    return store.run(
        transition(
            Transition.FINISH,
            job.id,
            to=status,
            attempt=job.attempt,
            worker_id=worker,
            retention_s=RETENTION,
            fields=fields,
            now=time.time(),
        )
    )


def test_create_and_read_back(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    job = new_job(store)
    assert store.run(get_job(job.id)) == job
    assert not store.run(create_job(job, RETENTION)).created, "an existing id is never overwritten"
    assert 0 < redis_client.ttl(keys.job(job.id)) <= RETENTION
    [event] = stream_entries(redis_client, keys.job_events(job.id))
    assert event[1]["type"] == "queued"


def test_claim_then_finish_once(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    job = new_job(store)
    running = claim(store, job.id, "w1")
    assert running is not None and running.status is JobStatus.RUNNING and running.attempt == 1
    assert store.run(running_job_ids()) == {job.id}
    assert claim(store, job.id, "w2") is None, "a redelivery does not start a running job again"
    done = finish(store, running, JobStatus.SUCCEEDED, "w1", output=["k/out.png"], completed_at=1.0)
    assert done is not None and done.status is JobStatus.SUCCEEDED and done.output == ["k/out.png"]
    assert store.run(running_job_ids()) == set()
    # Terminal is final: no second finish, no claim, whatever the fence says.
    assert finish(store, running, JobStatus.FAILED, "w1", error="late") is None
    assert claim(store, job.id, "w1") is None
    final = store.run(get_job(job.id))
    assert final is not None and final.status is JobStatus.SUCCEEDED and final.error is None
    types = [fields["type"] for _, fields in stream_entries(redis_client, keys.job_events(job.id))]
    assert types == ["queued", "started", "completed"]


def test_fence_rejects_a_superseded_attempt(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    job = new_job(store)
    first = claim(store, job.id, "w1")
    assert first is not None
    requeued = requeue(store, job.id, attempt=1, worker="w1")
    assert requeued is not None and requeued.status is JobStatus.QUEUED
    second = claim(store, job.id, "w2")
    assert second is not None and second.attempt == 2
    assert finish(store, first, JobStatus.SUCCEEDED, "w1") is None, (
        "the zombie attempt is fenced off"
    )
    assert finish(store, second, JobStatus.SUCCEEDED, "w1") is None, "wrong worker is fenced off"
    assert finish(store, second, JobStatus.SUCCEEDED, "w2") is not None


def test_concurrent_claims_have_one_winner(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    job = new_job(store)
    wins: list[Job | None] = []
    threads = [
        threading.Thread(
            target=lambda i=i: wins.append(claim(OpRunner(redis_client), job.id, f"w{i}"))
        )
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(win is not None for win in wins) == 1


def test_cancel_flag_only_on_running_jobs(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    job = new_job(store)
    assert store.run(request_cancel(job.id)) is JobStatus.QUEUED
    assert not store.run(cancel_requested(job.id))
    claim(store, job.id, "w1")
    assert store.run(request_cancel(job.id)) is JobStatus.RUNNING
    assert store.run(cancel_requested(job.id))
    assert store.run(request_cancel("nope")) is None


def test_list_is_newest_first_with_a_stable_cursor(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    base = time.time()
    made = [new_job(store, created_at=base + i // 2) for i in range(7)]  # pairs share a timestamp
    seen: list[str] = []
    cursor = None
    while True:
        page = store.run(list_jobs(cursor, 3))
        seen += [j.id for j in page.jobs]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 7
    created = [store.run(get_job(i)).created_at for i in seen]  # type: ignore[union-attr]
    assert created == sorted(created, reverse=True)
    assert set(seen) == {j.id for j in made}


def test_the_list_filters_by_model_and_status_together(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    tiny = [new_job(store, tenant="carol") for _ in range(3)]
    other = [new_job(store, tenant="carol", model="sdq/synthetic") for _ in range(2)]
    assert claim(store, tiny[0].id, "w1") is not None
    assert claim(store, other[0].id, "w2") is not None
    cases = [  # (model, status): the jobs listed, newest first
        ("sdq/tiny", None, [tiny[2], tiny[1], tiny[0]]),
        ("sdq/synthetic", None, [other[1], other[0]]),
        ("sdq/tiny", JobStatus.QUEUED, [tiny[2], tiny[1]]),
        ("sdq/synthetic", JobStatus.RUNNING, [other[0]]),
        ("sdq/other", None, []),
        (None, JobStatus.RUNNING, [other[0], tiny[0]]),
    ]
    for model, status, expected in cases:
        page = store.run(list_jobs(None, 10, "carol", status, model))
        assert [j.id for j in page.jobs] == [j.id for j in expected], (model, status)


def test_a_tenants_list_has_its_jobs_only_and_the_whole_list_has_all(
    redis_client: redis.Redis,
) -> None:
    store = OpRunner(redis_client)
    alice = [new_job(store, tenant="alice") for _ in range(4)]
    bob = [new_job(store, tenant="bob") for _ in range(2)]
    first = store.run(list_jobs(None, 3, "alice"))
    assert first.next_cursor is not None
    rest = store.run(list_jobs(first.next_cursor, 3, "alice"))
    assert [j.id for j in first.jobs + rest.jobs] == [j.id for j in reversed(alice)]
    assert rest.next_cursor is None
    assert {j.id for j in store.run(list_jobs(None, 10, "bob")).jobs} == {j.id for j in bob}
    assert store.run(list_jobs(None, 10, "nobody")).jobs == []
    everyone = {j.id for j in store.run(list_jobs(None, 100)).jobs}
    assert {j.id for j in alice + bob} <= everyone
    store.run(delete_job(bob[0]))
    assert [j.id for j in store.run(list_jobs(None, 10, "bob")).jobs] == [bob[1].id]


def test_a_models_first_queued_job_wakes_the_scaler(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    first = new_job(store)
    new_job(store)  # the queue was not empty: no second nudge
    assert redis_client.lrange(keys.scaler_wake(), 0, -1) == ["sdq/tiny"]
    claim(store, first.id, "w1")
    redis_client.delete(keys.scaler_wake())
    new_job(store)
    assert redis_client.llen(keys.scaler_wake()) == 0, "one job is still queued"


def test_the_output_event_and_the_terminal_write_share_one_round_trip_in_order(
    redis_client: redis.Redis,
) -> None:
    store = OpRunner(redis_client)
    job = new_job(store)
    running = claim(store, job.id, "w1")
    assert running is not None
    output = append_event(
        job.id, attempt=running.attempt, worker_id="w1", event=EventType.OUTPUT, data={}
    )
    finishing = transition(
        Transition.FINISH,
        job.id,
        to=JobStatus.SUCCEEDED,
        attempt=running.attempt,
        worker_id="w1",
        retention_s=RETENTION,
        now=time.time(),
    )
    redis_client.script_flush()  # a Redis that lost its scripts runs them all the same
    done = store.run_replicated(finishing, 0, 0, before=[output]).value
    assert done is not None and done.status is JobStatus.SUCCEEDED
    types = [fields["type"] for _, fields in stream_entries(redis_client, keys.job_events(job.id))]
    assert types == ["queued", "started", "output", "completed"]
