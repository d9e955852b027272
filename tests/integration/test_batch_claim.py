"""Claiming a batch on real Redis: compatible jobs in the scheduler's order, the others left in
their place, expired ones aborted, image-to-image and adapter jobs never joined."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import redis

from sdq.batching import batch_defaults, batch_key
from sdq.job import Job, JobStatus, new_job_id
from sdq.scheduling import QueueState, enqueue, next_job
from sdq.store import redis_keys as keys
from sdq.store.job_files import NOTE_GRACE_S
from sdq.store.jobs import BatchClaimed, claim_compatible, claim_next, create_job, get_job
from sdq.store.ops import OpRunner
from tests.integration.test_store import RETENTION

SMALL = {"prompt": "dog", "width": 64, "height": 64, "num_inference_steps": 4}


def submit(
    store: OpRunner,
    model: str,
    *,
    priority: int = 1,
    tenant: str = "default",
    deadline_at: float | None = None,
    **fields: Any,
) -> Job:
    job = Job(
        id=new_job_id(),
        model=model,
        input=SMALL | fields,
        created_at=time.time(),
        tenant=tenant,
        priority=priority,
        deadline_at=deadline_at,
    )
    assert store.run(create_job(job, RETENTION)).created
    return job


def first(store: OpRunner, model: str) -> Job:
    job = store.run(claim_next(model, worker_id="w1", retention_s=RETENTION, now=time.time())).job
    assert job is not None
    return job


def partners(store: OpRunner, model: str, of: Job, images: int) -> BatchClaimed:
    return store.run(
        claim_compatible(
            model,
            batch_key(of.input),
            batch_defaults(),
            images,
            worker_id="w1",
            retention_s=RETENTION,
            now=time.time(),
        )
    )


def new_model() -> str:
    return f"batch/{uuid.uuid4().hex[:8]}"


# "priority tenant name" arrivals; every job compatible: the batch is what successive claims take.
ORDERS = [
    pytest.param(["1 a a1", "1 a a2", "1 a a3", "1 b b1", "1 c c1"], id="tenants-take-turns"),
    pytest.param(["2 a a1", "1 a a2", "1 b b1", "0 c c1", "1 b b2", "0 a a3"], id="priorities"),
]


@pytest.mark.parametrize("arrivals", ORDERS)
def test_a_batch_takes_jobs_in_the_order_single_claims_would(
    redis_client: redis.Redis, arrivals: list[str]
) -> None:
    store, model, state = OpRunner(redis_client), new_model(), QueueState()
    ids: dict[str, str] = {}
    for arrival in arrivals:
        priority, tenant, name = arrival.split()
        ids[name] = submit(store, model, priority=int(priority), tenant=tenant).id
        state = enqueue(state, int(priority), tenant, name)
    expected = []
    for _ in range(4):
        taken = next_job(state)
        assert taken is not None
        name, state = taken
        expected.append(ids[name])
    head = first(store, model)
    batch = partners(store, model, head, 3)
    assert [head.id, *(job.id for job in batch.jobs)] == expected
    assert all(job.status is JobStatus.RUNNING and job.worker_id == "w1" for job in batch.jobs)


# Each case: the first job's input, then the queued jobs' inputs (those marked "+" join it).
IMAGE = "data:image/png;base64,AAAA"
COMPATIBILITY = [
    pytest.param({}, [("+", {"prompt": "cat", "seed": 3}), ("-", {"negative_prompt": "x"})],
                 id="prompt-seed-free"),
    pytest.param({"negative_prompt": "a"}, [("+", {"negative_prompt": "b"}), ("-", {})],
                 id="negative-prompt-given-or-not"),
    pytest.param({}, [("-", {"width": 128}), ("+", {}), ("-", {"num_inference_steps": 5})],
                 id="size-steps"),
    pytest.param({}, [("-", {"scheduler": "DDIM"}), ("-", {"guidance_scale": 3.0}), ("+", {})],
                 id="sampler-guidance"),
    pytest.param({}, [("-", {"image": IMAGE}), ("+", {"num_outputs": 3})], id="image-to-image"),
    pytest.param({}, [("-", {"loras": [{"name": "red", "scale": 1.0}]}), ("+", {"loras": []})],
                 id="adapters-run-alone"),
    pytest.param({"guidance_scale": 7.5},
                 [("+", {"guidance_scale": 7.5}), ("-", {"guidance_scale": 7.0})],
                 id="float-equality"),
]  # fmt: skip


@pytest.mark.parametrize(("head_input", "queued"), COMPATIBILITY)
def test_incompatible_jobs_are_passed_over_and_keep_their_place(
    redis_client: redis.Redis, head_input: dict[str, Any], queued: list[tuple[str, dict[str, Any]]]
) -> None:
    store, model = OpRunner(redis_client), new_model()
    submit(store, model, **head_input)
    jobs = [(mark, submit(store, model, **fields)) for mark, fields in queued]
    head = first(store, model)
    batch = partners(store, model, head, 10)
    assert [job.id for job in batch.jobs] == [job.id for mark, job in jobs if mark == "+"]
    left = [job.id for mark, job in jobs if mark == "-"]
    assert [first(store, model).id for _ in left] == left, "the rest in their order"


def test_a_batch_holds_at_most_its_images_and_passes_over_a_job_too_large(
    redis_client: redis.Redis,
) -> None:
    store, model = OpRunner(redis_client), new_model()
    submit(store, model)
    too_large, two, one, left = (submit(store, model, num_outputs=n) for n in (4, 2, 1, 1))
    head = first(store, model)
    batch = partners(store, model, head, 3)  # max_batch_size 4, the head draws one
    assert [job.id for job in batch.jobs] == [two.id, one.id]
    assert [first(store, model).id for _ in range(2)] == [too_large.id, left.id]


def test_a_stored_input_without_a_batch_field_counts_as_its_default(
    redis_client: redis.Redis,
) -> None:
    store, model = OpRunner(redis_client), new_model()
    head = submit(store, model, width=512, height=512, num_inference_steps=20)
    old = Job(id=new_job_id(), model=model, input={"prompt": "old"}, created_at=time.time())
    assert store.run(create_job(old, RETENTION)).created
    assert first(store, model).id == head.id
    assert [job.id for job in partners(store, model, head, 3).jobs] == [old.id]


def test_an_expired_job_is_aborted_on_the_way(redis_client: redis.Redis) -> None:
    store, model = OpRunner(redis_client), new_model()
    head = submit(store, model)
    expired = submit(store, model, deadline_at=time.time() - 1)
    fresh = submit(store, model)
    assert first(store, model).id == head.id
    batch = partners(store, model, head, 3)
    assert [job.id for job in batch.jobs] == [fresh.id] and batch.aborted == 1
    gone = store.run(get_job(expired.id))
    assert gone is not None and gone.status is JobStatus.ABORTED


def test_a_batch_claim_reads_at_most_its_limit(redis_client: redis.Redis) -> None:
    store, model = OpRunner(redis_client), new_model()
    head = submit(store, model)
    for _ in range(5):
        submit(store, model, width=128)
    late = submit(store, model)
    assert first(store, model).id == head.id
    limited = store.run(
        claim_compatible(
            model,
            batch_key(head.input),
            batch_defaults(),
            3,
            worker_id="w1",
            retention_s=RETENTION,
            now=time.time(),
            scan_limit=5,
        )
    )
    assert limited.jobs == []
    assert [job.id for job in partners(store, model, head, 3).jobs] == [late.id]


def test_every_claimed_job_is_in_the_files_index_before_any_file(
    redis_client: redis.Redis,
) -> None:
    store, model = OpRunner(redis_client), new_model()
    jobs = [submit(store, model) for _ in range(3)]
    left = submit(store, model, width=128)  # incompatible: stays queued
    before = time.time()
    head = first(store, model)
    batch = partners(store, model, head, 3)
    claimed = [head.id, *(job.id for job in batch.jobs)]
    assert claimed == [job.id for job in jobs]
    for job_id in claimed:  # the claim noted it: a crash after its first file orphans nothing
        due = redis_client.zscore(keys.job_files(), job_id)
        assert due is not None and due >= before + NOTE_GRACE_S
    assert redis_client.zscore(keys.job_files(), left.id) is None
