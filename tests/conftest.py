"""Shared fixtures: a real redis-server on a free port, the tiny model, real API and workers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cli.embedded_redis import EmbeddedRedis
from tests.access_fixtures import KeyedStack, started_keyed_stack
from tests.helpers import Stack, print_logs, started_api, started_stack
from tests.receiver import Receiver


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=False) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url


@pytest.fixture
def redis_client(redis_server: EmbeddedRedis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the session, so the tiny model is written once."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def tiny_model_dir(data_dir: Path) -> Path:
    from worker.engines.tiny_model import make_tiny

    return make_tiny(data_dir / "models" / "sdq-tiny")


@pytest.fixture(scope="module")
def stack(
    redis_server: EmbeddedRedis,
    data_dir: Path,
    tiny_model_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """API + one worker serving sdq/tiny, for a whole test module."""
    with started_stack(redis_server.url, data_dir, tmp_path_factory.mktemp("logs")) as running:
        yield running


@pytest.fixture(scope="module")
def api(
    redis_server: EmbeddedRedis, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The API alone (no worker), for a whole test module (a module may define its own)."""
    with started_api(redis_server.url, data_dir, tmp_path_factory.mktemp("logs")) as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on loopback that records what it is sent."""
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def up_log(tmp_path: Path) -> Iterator[Path]:
    """Where a test's `sdq up` writes its terminal output; shown, with each of its processes'
    logs (DATA_DIR/logs under tmp_path/data), when the test fails."""
    log = tmp_path / "up.log"
    try:
        yield log
    finally:
        if log.exists():
            sys.stderr.write(log.read_text()[-8000:])
        print_logs(tmp_path / "data" / "logs")


@pytest.fixture(scope="module")
def keyed(
    redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KeyedStack]:
    """API (keys required) + a synthetic worker, with client keys alice and bob and admin ops."""
    data_dir, logs = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("logs")
    with started_keyed_stack(redis_server.url, data_dir, logs) as running:
        yield running
