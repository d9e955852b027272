"""The files index and the storage it sweeps, on a real Redis and real storage (a local folder,
and moto's S3 server on loopback): a job's files go only once its record has expired, each
job's files are one sweeper's at a time, files nobody indexed are found."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import redis
from moto.server import ThreadedMotoServer

from cli.embedded_redis import free_port
from sdq.s3_storage import S3OutputStorage
from sdq.storage import LocalOutputStorage, OutputStorage, output_key
from sdq.store import redis_keys as keys
from sdq.store.job_files import (
    NOTE_GRACE_S,
    SWEEP_LEASE_S,
    due_files,
    files_removed,
    note_files,
    note_orphan,
    orphan_due_at,
    unknown_job,
)
from sdq.store.ops import OpRunner

T0 = 1_800_000_000.0
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


def record(client: redis.Redis, job_id: str, ttl_s: int) -> None:
    client.hset(keys.job(job_id), mapping={"id": job_id})
    client.expire(keys.job(job_id), ttl_s)


def test_files_wait_for_their_record_then_go_to_one_sweeper(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    kept, gone = "keptjob01", "gonejob01"
    record(redis_client, kept, 600)
    for job_id in (kept, gone):
        assert store.run(note_files(job_id, T0)) == 1
    assert store.run(note_files(kept, T0 + 5)) == 0  # a second note keeps the first
    assert store.run(due_files(T0 + NOTE_GRACE_S - 1, 10)) == []  # within the grace
    now = T0 + NOTE_GRACE_S
    assert store.run(due_files(now, 10)) == [gone]  # the record of `kept` is readable
    assert store.run(due_files(now, 10)) == []  # leased to the first caller
    rescheduled = redis_client.zscore(keys.job_files(), kept)
    assert rescheduled is not None and rescheduled > now + 590  # when its record expires
    assert store.run(due_files(now + SWEEP_LEASE_S, 10)) == [gone]  # the lease ran out
    assert store.run(files_removed(gone)) == 1
    assert redis_client.zscore(keys.job_files(), gone) is None


def test_an_orphan_is_unknown_only_without_index_entry_and_record(
    redis_client: redis.Redis,
) -> None:
    store = OpRunner(redis_client)
    record(redis_client, "recorded1", 600)
    store.run(note_files("indexed01", T0))
    cases = [("recorded1", False), ("indexed01", False), ("orphan001", True)]
    for job_id, unknown in cases:
        assert store.run(unknown_job(job_id)) is unknown, job_id
    assert store.run(note_orphan("orphan001", T0 + 99)) == 1
    assert store.run(note_orphan("orphan001", T0 + 5)) == 0  # the first due time stays
    assert redis_client.zscore(keys.job_files(), "orphan001") == T0 + 99


DUE = [  # (newest file written, now, retention): when an unknown job's files may go
    (T0 - 100_000, T0, 86_400, T0 + NOTE_GRACE_S),  # older than a record could live: soon
    (T0 - 3_600, T0, 86_400, T0 - 3_600 + 86_400),  # as late as its record would expire
    (T0, T0, 60, T0 + NOTE_GRACE_S),  # never sooner than the grace
]


@pytest.mark.parametrize(("written", "now", "retention", "due"), DUE)
def test_an_orphan_gets_its_whole_retention(
    written: float, now: float, retention: float, due: float
) -> None:
    assert orphan_due_at(written, now, retention) == due


@pytest.fixture(scope="module")
def s3_client() -> Iterator[object]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    client = boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1", **CREDENTIALS
    )
    client.create_bucket(Bucket="files")
    yield client
    server.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> OutputStorage:
    if request.param == "local":
        return LocalOutputStorage(tmp_path / "outputs")
    client = request.getfixturevalue("s3_client")
    return S3OutputStorage(client, "files", f"t{time.monotonic_ns()}/", 60)


def test_storage_lists_and_removes_one_jobs_files(storage: OutputStorage) -> None:
    for job_id, names in (("jobaaaa01", ["input-0.jpg", "out-1-0.png"]), ("jobbbbb02", ["x.png"])):
        for name in names:
            storage.put(output_key(job_id, name), b"data", "image/png")
    assert storage.job_keys("jobaaaa01") == ["jobaaaa01/input-0.jpg", "jobaaaa01/out-1-0.png"]
    written = storage.job_written_at("jobaaaa01")
    assert written is not None and abs(written - time.time()) < 300
    assert storage.job_written_at("nojobhere1") is None
    assert storage.job_ids(10) == ["jobaaaa01", "jobbbbb02"]
    assert storage.job_ids(1) == ["jobaaaa01"]
    assert storage.job_ids(1, after="jobaaaa01") == ["jobbbbb02"]
    assert storage.job_ids(10, after="jobbbbb02") == []
    assert storage.delete_job("jobaaaa01") == 2
    assert storage.job_keys("jobaaaa01") == []
    assert storage.job_ids(10) == ["jobbbbb02"]
    assert storage.delete_job("jobaaaa01") == 0  # again: nothing, no error
    assert storage.get("jobbbbb02/x.png") == b"data"


def test_job_ids_come_a_page_at_a_time_in_order(storage: OutputStorage) -> None:
    """The orphan scan's pages: an id that begins with another one is not skipped, and every
    folder is listed once however many files it holds."""
    ids = ["jobaaaa01", "jobaaaa010", "jobaaaa0100", "jobaaaa02", "jobzzzz99"]
    for job_id in reversed(ids):
        for name in ("input-0.jpg", "out-1-0.png", "out-1-1.png"):
            storage.put(output_key(job_id, name), b"data", "image/png")
    pages, after = [], ""
    while page := storage.job_ids(2, after=after):
        pages.append(page)
        after = page[-1]
    assert pages == [ids[:2], ids[2:4], ids[4:]]


def test_a_local_sweep_takes_the_leftovers_of_a_crashed_write_too(tmp_path: Path) -> None:
    storage = LocalOutputStorage(tmp_path)
    storage.put(output_key("jobcccc03", "out-1-0.png"), b"png", "image/png")
    (tmp_path / "jobcccc03" / ".tmp-crashed").write_bytes(b"half")
    assert storage.delete_job("jobcccc03") == 2
    assert not (tmp_path / "jobcccc03").exists()
