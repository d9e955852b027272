"""A job's files live exactly as long as its record, on a real stack: outputs and the starting
image (kept as sent) are served while the record is readable and removed once it expires; an
earlier attempt's files go when a later one succeeds; files nobody indexed are found."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from PIL import Image

from cli.embedded_redis import EmbeddedRedis
from sdq.store import redis_keys as keys
from tests.helpers import Stack, started_api, wait_terminal, wait_until

SYNTHETIC = "sdq/synthetic"
# Files left in storage before this API started, with no record and no index entry.
ORPHAN = "orphanjob0001"


@pytest.fixture(scope="module")
def sweeping(
    redis_server: EmbeddedRedis,
    data_dir: Path,
    tiny_model_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """API (sweeping every half second) and a tiny-model worker; an orphan folder on disk."""
    orphan = data_dir / "outputs" / ORPHAN
    orphan.mkdir(parents=True, exist_ok=True)
    (orphan / "out-1-0.png").write_bytes(b"left behind")
    env = {"SDQ_FILE_SWEEP_INTERVAL_S": "0.5", "SDQ_SYNTHETIC_STEP_SECONDS": "0.01"}
    logs = tmp_path_factory.mktemp("logs")
    with started_api(redis_server.url, data_dir, logs, **env) as stack:
        stack.start_worker()
        stack.wait_for_workers()
        yield stack


@pytest.fixture
def store(sweeping: Stack) -> Iterator[redis.Redis]:
    """The stack's Redis as it is (the shared `redis_client` fixture would empty it)."""
    client = redis.Redis.from_url(sweeping.redis_url, decode_responses=True)
    yield client
    client.close()


def jpeg_data_url() -> tuple[str, bytes]:
    buffer = io.BytesIO()
    Image.new("RGB", (72, 64), (200, 30, 90)).save(buffer, format="JPEG", quality=90)
    raw = buffer.getvalue()
    return "data:image/jpeg;base64," + base64.b64encode(raw).decode(), raw


def expire_now(client: redis.Redis, job_id: str) -> None:
    """As if the retention had run out: the record expires and its files are due."""
    client.pexpire(keys.job(job_id), 1)
    wait_until(lambda: not client.exists(keys.job(job_id)), 10, "the record to expire")
    client.zadd(keys.job_files(), {job_id: 0})


def test_files_are_served_while_the_record_lives_and_removed_after(
    sweeping: Stack, store: redis.Redis
) -> None:
    sent, raw = jpeg_data_url()
    body = {
        "model": "sdq/tiny",
        "input": {"prompt": "kept", "image": sent, "width": 64, "height": 64, "num_outputs": 2},
    }
    with sweeping.http() as client:
        done = client.post("/v1/predictions", json=body, headers={"Prefer": "wait"}).json()
        assert done["status"] == "succeeded", done
        folder = sweeping.data_dir / "outputs" / done["id"]
        assert (folder / "input-0.jpg").read_bytes() == raw  # as sent, not re-encoded
        links = done["output"]
        assert [client.get(link).status_code for link in links] == [200, 200]
        store.zadd(keys.job_files(), {done["id"]: 0})  # due, but the record lives
        looked = lambda: (store.zscore(keys.job_files(), done["id"]) or 0) > 1  # noqa: E731
        wait_until(looked, 10, "the sweeper to look and wait for the record")
        assert sorted(p.name for p in folder.iterdir()) == [
            "input-0.jpg",
            "out-1-0.png",
            "out-1-1.png",
        ]
        expire_now(store, done["id"])
        wait_until(lambda: not folder.exists(), 30, "the files of the expired job to go")
        assert [client.get(link).status_code for link in links] == [404, 404]
        assert store.zscore(keys.job_files(), done["id"]) is None


def test_an_earlier_attempts_files_go_when_a_later_one_succeeds(sweeping: Stack) -> None:
    with sweeping.http() as client:
        created = client.post(
            "/v1/predictions", json={"model": SYNTHETIC, "input": {"prompt": "x"}}
        ).json()  # queued: no worker serves the synthetic model yet
        folder = sweeping.data_dir / "outputs" / created["id"]
        folder.mkdir(parents=True)
        (folder / "out-7-0.png").write_bytes(b"a lost attempt's image")
        sweeping.start_worker(SYNTHETIC)
        done = wait_terminal(client, created["id"])
    assert done["status"] == "succeeded", done
    assert sorted(p.name for p in folder.iterdir()) == ["out-1-0.png"]


def test_files_nobody_indexed_are_found_and_removed(sweeping: Stack, store: redis.Redis) -> None:
    folder = sweeping.data_dir / "outputs" / ORPHAN
    assert folder.exists(), "kept for the grace after it was found"
    assert store.zscore(keys.job_files(), ORPHAN) is not None, "found at the API's start"
    store.zadd(keys.job_files(), {ORPHAN: 0})  # as if the grace had passed
    wait_until(lambda: not folder.exists(), 30, "the orphan's files to go")
    wait_until(lambda: store.zscore(keys.job_files(), ORPHAN) is None, 10, "its entry to go")
