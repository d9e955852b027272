"""The API's side of replica acknowledgements: at start-up it says so when Redis has fewer replicas
than SDQ_REDIS_REPLICA_ACKS asks for; a create whose answer was lost leaves no job behind."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import redis

from api.app import warn_if_too_few_replicas
from api.runtime import build_runtime
from api.submission import forget_if_written
from sdq.job import new_job_id
from sdq.settings import Settings
from sdq.store.jobs import get_job
from sdq.store.ops import OpRunner
from tests.integration.test_store import claim, new_job


@pytest.mark.parametrize(("acks", "warned"), [(0, False), (1, True)])
def test_too_few_replicas_are_named_at_start_up(
    redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, acks: int, warned: bool
) -> None:
    settings = Settings(redis_url=redis_url, data_dir=tmp_path, redis_replica_acks=acks)

    async def check() -> None:
        runtime = build_runtime(settings, redis_url)
        try:
            await warn_if_too_few_replicas(runtime)
        finally:
            await runtime.close()

    with caplog.at_level(logging.WARNING, logger="api.app"):
        asyncio.run(check())
    expected = "Redis has 0 connected replica(s) but SDQ_REDIS_REPLICA_ACKS is 1"
    assert (expected in caplog.text) is warned, caplog.text


def test_a_create_whose_answer_was_lost_is_forgotten_unless_a_worker_took_it(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """After a create call that failed or was cancelled before its answer, the job is removed
    if it was written (True: surely gone), kept if a worker already started it (False)."""
    store = OpRunner(redis_client)
    written, started = new_job(store), new_job(store)
    claim(store, started.id, "w1")
    never_written = written.model_copy(update={"id": new_job_id()})
    settings = Settings(redis_url=redis_url, data_dir=tmp_path)

    async def forget() -> list[bool]:
        runtime = build_runtime(settings, redis_url)
        try:
            return [
                await forget_if_written(runtime, job) for job in (written, started, never_written)
            ]
        finally:
            await runtime.close()

    assert asyncio.run(forget()) == [True, False, True]
    assert store.run(get_job(written.id)) is None
    assert store.run(get_job(started.id)) is not None
