"""The generation token the create script pushes is Celery's own message: field for field what
`send_task` LPUSHes (ids aside), and a real Celery worker consumes and acknowledges it."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from sdq.celery_app import GENERATE_TASK, make_celery, send_generate
from sdq.job import Job, new_job_id
from sdq.settings import Settings
from sdq.store import redis_keys as keys
from sdq.store.jobs import create_job
from sdq.store.ops import OpRunner
from sdq.task_message import generate_token

MODEL = "sdq/tiny"
# Fresh per message (task id, delivery tag) or per producer (reply_to: Celery's app oid).
FRESH = (
    ("headers", "id"),
    ("headers", "root_id"),
    ("properties", "correlation_id"),
    ("properties", "delivery_tag"),
    ("properties", "reply_to"),
)


def without_fresh_ids(message: dict[str, Any]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(message))
    for part, name in FRESH:
        copy[part][name] = "<fresh>"
    return copy


def celerys_message(redis_url: str, tmp_path: Path, client: redis.Redis, job_id: str) -> Any:
    app = make_celery(Settings(redis_url=redis_url, data_dir=tmp_path), redis_url)
    try:
        send_generate(app, job_id, MODEL)
    finally:
        app.close()
    return json.loads(client.rpop(keys.queue(MODEL)))  # type: ignore[arg-type]


def test_the_token_is_the_message_celery_sends(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    job_id = new_job_id()
    theirs = celerys_message(redis_url, tmp_path, redis_client, job_id)
    ours = json.loads(generate_token(job_id, MODEL))
    assert without_fresh_ids(ours) == without_fresh_ids(theirs)
    assert json.loads(base64.b64decode(ours["body"])) == [[job_id], {}, ours_embed(theirs)]
    headers, properties = ours["headers"], ours["properties"]
    assert headers["root_id"] == headers["id"] == properties["correlation_id"]
    for part, name in FRESH:
        assert isinstance(ours[part][name], str) and len(ours[part][name]) == 36, (part, name)
    again = json.loads(generate_token(job_id, MODEL))
    assert again["headers"]["id"] != headers["id"]
    assert again["properties"]["delivery_tag"] != properties["delivery_tag"]


def ours_embed(message: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(message["body"]))[2]


@contextlib.contextmanager
def root_logging_kept() -> Iterator[None]:
    """Celery's in-process worker sets up the root logger; the later tests get it back as it was."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers


def test_a_celery_worker_runs_and_acknowledges_the_token_the_create_script_pushed(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    app = make_celery(Settings(redis_url=redis_url, data_dir=tmp_path), redis_url)
    app.conf.task_default_queue = keys.queue(MODEL)
    received: list[str] = []
    done = threading.Event()

    @app.task(name=GENERATE_TASK, acks_late=True)  # type: ignore[untyped-decorator]
    def generate(job_id: str) -> None:
        received.append(job_id)
        done.set()

    job = Job(id=new_job_id(), model=MODEL, input={"prompt": "dog"}, created_at=time.time())
    store = OpRunner(redis_client)
    assert store.run(create_job(job, 3600, token=generate_token(job.id, job.model))).created
    assert redis_client.llen(keys.queue(MODEL)) == 1
    with root_logging_kept(), start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        assert done.wait(30), "the worker never ran the token"
        deadline = time.monotonic() + 10
        while redis_client.hlen("unacked") and time.monotonic() < deadline:
            time.sleep(0.05)
    app.close()
    assert received == [job.id]
    assert redis_client.llen(keys.queue(MODEL)) == 0
    assert redis_client.hlen("unacked") == 0  # acknowledged, never to be redelivered


@pytest.mark.parametrize(
    ("token", "queued_tokens"),
    [(None, 0), ("a message", 1)],
)
def test_the_create_script_pushes_a_token_only_when_given_one(
    redis_client: redis.Redis, token: str | None, queued_tokens: int
) -> None:
    job = Job(id=new_job_id(), model=MODEL, input={"prompt": "dog"}, created_at=time.time())
    created = OpRunner(redis_client).run(create_job(job, 3600, token=token))
    assert created.created and created.place is not None
    assert (created.place.position, created.place.queued) == (0, 1)
    assert redis_client.llen(keys.queue(MODEL)) == queued_tokens


def test_a_refused_create_pushes_no_token(redis_client: redis.Redis) -> None:
    """Admission refused (the model's queue full) or the id taken: nothing, token included."""
    store = OpRunner(redis_client)
    first = Job(id=new_job_id(), model=MODEL, input={"prompt": "dog"}, created_at=time.time())
    assert store.run(create_job(first, 3600, token=generate_token(first.id, MODEL))).created
    second = first.model_copy(update={"id": new_job_id()})
    for job, limit in ((second, 1), (first, None)):
        refused = store.run(create_job(job, 3600, max_queued=limit, token="x"))
        assert not refused.created and refused.place is None
    assert redis_client.llen(keys.queue(MODEL)) == 1
    assert not redis_client.exists(keys.job(second.id))
