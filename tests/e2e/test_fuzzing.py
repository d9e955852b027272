"""Schemathesis over the published OpenAPI description, against a real API (every dialect):
generated and mutated requests for every operation, bounded, with a fixed seed. No answer is a
5xx, every status is documented, every error body matches its documented schema."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.embedded_redis import EmbeddedRedis
from tests.helpers import Stack, started_api

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance," + (
    "content_type_conformance"
)
# An event stream follows its prediction until it ends; with no worker, that is never.
STREAM = "/v1/predictions/{prediction_id}/stream"
EXAMPLES = "10"  # per operation and phase: about 1,500 requests, a minute on 2 cores
SEED = "20261202"


@pytest.fixture(scope="module")
def fuzzed(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The API alone on a Redis of its own; waits for images bounded to a second (no worker)."""
    waits = {"SDQ_SYNC_WAIT_S": "0.5", "SDQ_MAX_WAIT_S": "1"}
    redis_dir, logs = tmp_path_factory.mktemp("redis"), tmp_path_factory.mktemp("logs")
    with (
        EmbeddedRedis(redis_dir, appendonly=False) as server,
        started_api(server.url, data_dir, logs, **waits) as stack,
    ):
        yield stack


def test_no_server_error_and_every_answer_as_documented(fuzzed: Stack, tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{fuzzed.url}/openapi.json",
        "--checks", CHECKS, "--max-examples", EXAMPLES, "--seed", SEED,
        "--phases", "examples,coverage,fuzzing", "--request-timeout", "20",
        "--exclude-path", STREAM, "--no-color",
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
