"""A job whose stored input this worker cannot read (written by a newer API during a rolling
upgrade: a field it does not know) fails at once naming the field and the fix, instead of staying
`running` until recovery gives up on it."""

from __future__ import annotations

import time

import redis

from sdq.job import Job, new_job_id
from sdq.store.jobs import create_job
from sdq.store.ops import OpRunner
from sdq.task_message import generate_token
from tests.helpers import Stack, wait_terminal


def test_a_job_with_a_field_the_worker_does_not_know_fails_naming_it(stack: Stack) -> None:
    store = OpRunner(redis.Redis.from_url(stack.redis_url, decode_responses=True))
    job = Job(
        id=new_job_id(),
        model="sdq/tiny",
        input={"prompt": "x", "width": 64, "height": 64, "seed": 1, "from_the_future": True},
        created_at=time.time(),
    )
    created = store.run(create_job(job, 3600, token=generate_token(job.id, job.model)))
    assert created.created
    with stack.http() as client:
        done = wait_terminal(client, job.id, timeout=60)
    assert done["status"] == "failed"
    assert done["error"] == (
        "this worker cannot read the job's input (input.from_the_future: Extra inputs are not "
        "permitted); it may be older than the API: upgrade the workers"
    )
