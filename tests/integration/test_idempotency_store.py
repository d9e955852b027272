"""Idempotency keys and the status-filtered job list on a real Redis: one holder per tenant and
key, freed only by its holder; filtered pages that end early still lead to every match."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from sdq.job import Job, JobStatus, Transition, new_job_id
from sdq.store import jobs as jobs_store
from sdq.store import redis_keys as keys
from sdq.store.idempotency import claim_key, key_digest, release_key
from sdq.store.jobs import create_job, list_jobs, transition
from sdq.store.ops import OpRunner

RETENTION = 3600


def test_one_claim_wins_and_the_others_see_its_job(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    ids = [new_job_id() for _ in range(20)]

    def take(job_id: str) -> bool:
        return store.run(claim_key("t", "k", job_id, "h", now=time.time(), ttl_s=60)).taken

    with ThreadPoolExecutor(max_workers=20) as pool:
        taken = list(pool.map(take, ids))
    assert taken.count(True) == 1
    winner = ids[taken.index(True)]
    held = store.run(claim_key("t", "k", new_job_id(), "other", now=time.time(), ttl_s=60))
    assert (held.taken, held.job_id, held.request_hash) == (False, winner, "h")
    assert 0 < redis_client.ttl(keys.idempotency("t", key_digest("k"))) <= 60


def test_tenants_hold_the_same_key_apart(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    for tenant in ("alice", "bob"):
        assert store.run(claim_key(tenant, "k", new_job_id(), "h", now=0.0, ttl_s=60)).taken


def test_only_the_holder_frees_a_key(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    mine = new_job_id()
    assert store.run(claim_key("t", "k", mine, "h", now=0.0, ttl_s=60)).taken
    assert not store.run(release_key("t", "k", new_job_id()))
    assert store.run(release_key("t", "k", mine))
    assert store.run(claim_key("t", "k", new_job_id(), "h2", now=0.0, ttl_s=60)).taken


def ended_job(store: OpRunner, status: JobStatus, created_at: float) -> Job:
    job = Job(id=new_job_id(), model="sdq/tiny", input={"prompt": "x"}, created_at=created_at)
    assert store.run(create_job(job, RETENTION)).created
    if status is not JobStatus.QUEUED:
        name = Transition.CANCEL_QUEUED if status is JobStatus.CANCELED else Transition.FAIL_QUEUED
        store.run(transition(name, job.id, retention_s=RETENTION, now=time.time()))
    return job


def walk(store: OpRunner, limit: int, status: JobStatus | None) -> tuple[list[str], int]:
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        page = store.run(list_jobs(cursor, limit, status=status))
        pages += 1
        seen += [job.id for job in page.jobs]
        if page.next_cursor is None:
            return seen, pages
        cursor = page.next_cursor


@pytest.mark.parametrize("budget", [3, 1000])
def test_a_filtered_list_reaches_every_match_page_by_page(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    monkeypatch.setattr(jobs_store, "LIST_SCAN_BUDGET", budget)
    store = OpRunner(redis_client)
    base = time.time()
    pattern = [JobStatus.FAILED, JobStatus.QUEUED, JobStatus.QUEUED, JobStatus.CANCELED] * 6
    # pairs share a timestamp, so a cursor must tell jobs of one score apart
    made = [ended_job(store, status, base + i // 2) for i, status in enumerate(pattern)]
    for status in (JobStatus.FAILED, JobStatus.CANCELED, None):
        seen, pages = walk(store, 2, status)
        expected = [j.id for j in made if status is None or _status(store, j) is status]
        assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
        if budget < len(made) and status is not None:
            assert pages > len(expected) / 2  # pages ended early on the budget, then went on


def _status(store: OpRunner, job: Job) -> JobStatus:
    found = store.run(jobs_store.get_job(job.id))
    assert found is not None
    return found.status
