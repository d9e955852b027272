"""Deadlines on a real Redis and a real worker: a job not started by its deadline ends aborted and
never runs (at claim time, or by the API's sweep when no worker comes), the scaler does not count
it, and a job still running at its deadline is stopped at the next step and ends canceled."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from cli.embedded_redis import EmbeddedRedis, free_port
from scaler.measure import measure
from sdq.celery_app import make_celery, send_generate
from sdq.job import Job, JobStatus, Transition, new_job_id
from sdq.recovery import abort_expired
from sdq.settings import SYNTHETIC_MODEL_ID, Settings
from sdq.store import heartbeats
from sdq.store import redis_keys as keys
from sdq.store.jobs import create_job, delete_job, get_job, queued_summary, transition
from sdq.store.ops import AsyncOpRunner, OpRunner
from tests.helpers import print_logs, process_env, start, stop, stream_entries, wait_until
from tests.integration.test_store import RETENTION, claim, requeue

MODEL = "sdq/tiny"
HOOK = "http://127.0.0.1:9/hook"


def new_job(
    store: OpRunner,
    *,
    deadline_in: float | None,
    age: float = 0.0,
    model: str = MODEL,
    steps: int = 4,
) -> Job:
    """A queued job created `age` seconds ago whose deadline is `deadline_in` seconds from now."""
    now = time.time()
    job = Job(
        id=new_job_id(),
        model=model,
        input={"prompt": "dog", "seed": 1, "width": 64, "height": 64, "num_inference_steps": steps},
        created_at=now - age,
        deadline_at=None if deadline_in is None else now + deadline_in,
        webhook=HOOK,
        webhook_events_filter=["completed"],
    )
    assert store.run(create_job(job, RETENTION)).created
    return job


def indexed(client: redis.Redis, job: Job) -> tuple[bool, bool, bool]:
    """Whether the job is in its model's queued set, the deadlines set, its model's deadlines."""
    return (
        client.zscore(keys.queued_jobs(job.model), job.id) is not None,
        client.zscore(keys.deadlines(), job.id) is not None,
        client.zscore(keys.queued_deadlines(job.model), job.id) is not None,
    )


def event_types(client: redis.Redis, job: Job) -> list[str]:
    return [fields["type"] for _, fields in stream_entries(client, keys.job_events(job.id))]


def sweep(redis_url: str, now: float) -> list[Job]:
    async def once() -> list[Job]:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            return await abort_expired(AsyncOpRunner(client), now=now, retention_s=RETENTION)
        finally:
            await client.aclose()

    return asyncio.run(once())


def test_a_job_with_a_deadline_is_indexed_by_it_while_queued(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    timed, untimed = new_job(store, deadline_in=60), new_job(store, deadline_in=None)
    assert store.run(get_job(timed.id)) == timed, "deadline_at reads back"
    assert indexed(redis_client, timed) == (True, True, True)
    assert indexed(redis_client, untimed) == (True, False, False)
    running = claim(store, timed.id, "w1")
    assert running is not None and running.status is JobStatus.RUNNING
    assert indexed(redis_client, timed) == (False, False, False), "only queued jobs are indexed"
    requeued = requeue(store, timed.id, attempt=1, worker="w1")
    assert requeued is not None and indexed(redis_client, timed) == (True, True, True)
    assert store.run(delete_job(timed)) is False, "a job that has run is never deleted"
    fresh = new_job(store, deadline_in=60)
    assert store.run(delete_job(fresh))
    assert indexed(redis_client, fresh) == (False, False, False)


@pytest.mark.parametrize(
    ("age", "deadline_in", "said"),
    [
        (60.0, -30.0, "30s after submission"),
        (5400.5, -0.5, "1h30m after submission"),
        (1.0, -0.5, "500ms after submission"),
        (91.5, 0.0, "1m31.5s after submission"),
    ],
)
def test_a_claim_past_the_deadline_aborts_the_job_instead_of_starting_it(
    redis_client: redis.Redis, age: float, deadline_in: float, said: str
) -> None:
    store = OpRunner(redis_client)
    job = new_job(store, deadline_in=deadline_in, age=age)
    now = job.deadline_at + 0.001  # type: ignore[operator]
    aborted = store.run(
        transition(
            Transition.CLAIM,
            job.id,
            retention_s=RETENTION,
            event_data={"worker_id": "w1"},
            fields={"worker_id": "w1", "started_at": now},
            now=now,
        )
    )
    assert aborted is not None and aborted.status is JobStatus.ABORTED
    assert aborted.error == f"deadline passed before it started ({said})"
    assert aborted.logs == f"{aborted.error}\n"
    assert aborted.completed_at == now
    assert (aborted.started_at, aborted.worker_id, aborted.attempt) == (None, None, 0)
    assert indexed(redis_client, job) == (False, False, False)
    assert job.id not in redis_client.smembers(keys.running_jobs())
    assert event_types(redis_client, job) == ["queued", "completed"], "it never started"
    assert redis_client.hexists(keys.job_webhooks(job.id), f"msg_{job.id}_completed")
    assert claim(store, job.id, "w2") is None, "aborted is final"


def test_a_claim_before_the_deadline_starts_the_job(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    job = new_job(store, deadline_in=30)
    running = claim(store, job.id, "w1")
    assert running is not None and running.status is JobStatus.RUNNING and running.error is None


def test_abort_applies_only_past_the_deadline_and_only_to_queued_jobs(
    redis_client: redis.Redis,
) -> None:
    store = OpRunner(redis_client)
    early, untimed = new_job(store, deadline_in=30), new_job(store, deadline_in=None)
    for job in (early, untimed):
        assert (
            store.run(transition(Transition.ABORT, job.id, retention_s=60, now=time.time())) is None
        )
        assert store.run(get_job(job.id)).status is JobStatus.QUEUED  # type: ignore[union-attr]


def test_the_sweep_aborts_expired_queued_jobs_and_nothing_else(
    redis_url: str, redis_client: redis.Redis
) -> None:
    store = OpRunner(redis_client)
    expired = [new_job(store, deadline_in=-1, age=10) for _ in range(3)]
    other_model = new_job(store, deadline_in=-1, age=10, model=SYNTHETIC_MODEL_ID)
    later = new_job(store, deadline_in=60)
    untimed = new_job(store, deadline_in=None, age=3600)
    running = new_job(store, deadline_in=0.5)
    claim(store, running.id, "w1")
    gone = new_job(store, deadline_in=-1, age=10)
    redis_client.delete(keys.job(gone.id))  # its record expired while it waited
    time.sleep(0.6)  # `running` is now past its deadline too, but it started in time

    aborted = sweep(redis_url, time.time())
    assert {job.id for job in aborted} == {job.id for job in [*expired, other_model]}
    for job in [*expired, other_model]:
        after = store.run(get_job(job.id))
        assert after is not None and after.status is JobStatus.ABORTED
        assert after.error == "deadline passed before it started (9s after submission)"
        assert event_types(redis_client, job) == ["queued", "completed"]
        assert indexed(redis_client, job) == (False, False, False)
    for job, status in ((later, JobStatus.QUEUED), (untimed, JobStatus.QUEUED)):
        assert store.run(get_job(job.id)).status is status  # type: ignore[union-attr]
    assert store.run(get_job(running.id)).status is JobStatus.RUNNING  # type: ignore[union-attr]
    assert redis_client.zscore(keys.deadlines(), gone.id) is None, "a stale entry is dropped"
    assert sweep(redis_url, time.time()) == [], "nothing to do twice"


def test_a_requeued_job_past_its_deadline_is_aborted_saying_it_could_not_run_again(
    redis_url: str, redis_client: redis.Redis
) -> None:
    store = OpRunner(redis_client)
    job = new_job(store, deadline_in=0.2, age=10)
    claim(store, job.id, "w1")
    requeue(store, job.id, attempt=1, worker="w1")
    [aborted] = sweep(redis_url, job.deadline_at + 1)  # type: ignore[operator]
    assert aborted.status is JobStatus.ABORTED and aborted.attempt == 1
    assert aborted.error == "deadline passed before it could run again (10.2s after submission)"


def test_the_scaler_counts_only_work_that_can_still_run(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    oldest_expired = new_job(store, deadline_in=-1, age=100)
    new_job(store, deadline_in=-1, age=90)
    live_oldest = new_job(store, deadline_in=60, age=30)
    new_job(store, deadline_in=None, age=5)
    expires_soon = new_job(store, deadline_in=5, age=1)
    now = time.time()

    load = measure(store, MODEL, now, 30)
    assert load.queued == 3, "the two expired jobs are not counted"
    assert load.oldest_queued_age_s is not None
    assert 29 <= load.oldest_queued_age_s <= 35, "the oldest job that can still run"
    count, oldest = store.run(queued_summary(MODEL))  # by the Redis server's clock
    assert count == 3 and oldest == pytest.approx(live_oldest.created_at, abs=1e-5)
    later = measure(store, MODEL, expires_soon.deadline_at + 0.1, 30)  # type: ignore[operator]
    assert later.queued == 2
    count, oldest = store.run(queued_summary(MODEL, oldest_expired.created_at))
    assert count == 5, "none had expired yet then"
    assert oldest == pytest.approx(oldest_expired.created_at, abs=1e-5)


def test_a_worker_aborts_an_expired_job_and_stops_a_running_one_at_its_deadline(
    redis_server: EmbeddedRedis, redis_client: redis.Redis, data_dir: Path, tmp_path: Path
) -> None:
    store = OpRunner(redis_client)
    env = process_env(
        redis_server.url,
        data_dir,
        free_port(),
        SDQ_MODELS=SYNTHETIC_MODEL_ID,
        SDQ_SYNTHETIC_STEP_SECONDS="0.2",
    )
    worker = start(["worker", "--model", SYNTHETIC_MODEL_ID], env, tmp_path / "worker.log")
    celery = make_celery(Settings(), redis_server.url)
    try:
        wait_until(
            lambda: store.run(heartbeats.live_workers(time.time(), 30)), 120, "a ready worker"
        )
        expired = new_job(store, deadline_in=-1, age=10, model=SYNTHETIC_MODEL_ID)
        long = new_job(store, deadline_in=10, model=SYNTHETIC_MODEL_ID, steps=150)  # 30 s
        for job in (expired, long):
            send_generate(celery, job.id, SYNTHETIC_MODEL_ID)

        def terminal(job: Job) -> Job | None:
            now = store.run(get_job(job.id))
            return now if now is not None and now.status.is_terminal else None

        aborted = wait_until(lambda: terminal(expired), 60, "the expired job to end")
        assert aborted.status is JobStatus.ABORTED and aborted.started_at is None
        assert event_types(redis_client, expired) == ["queued", "completed"]

        stopped = wait_until(lambda: terminal(long), 60, "the long job to be stopped")
        reason = "stopped: its deadline (10s after submission) passed while it was running"
        assert stopped.status is JobStatus.CANCELED
        assert stopped.error == reason
        assert reason in stopped.logs and stopped.output == []
        assert stopped.started_at is not None and stopped.completed_at is not None
        assert long.deadline_at is not None
        assert stopped.started_at < long.deadline_at <= stopped.completed_at
        steps = [
            fields
            for _, fields in stream_entries(redis_client, keys.job_events(long.id))
            if fields["type"] == "progress"
        ]
        assert 0 < len(steps) < 150, "stopped well before its last step"
    except BaseException:
        print_logs(tmp_path)
        raise
    finally:
        celery.close()
        stop(worker)
