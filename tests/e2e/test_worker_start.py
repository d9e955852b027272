"""A worker takes jobs only once its model is loaded, and stops when the model cannot load."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import redis

from cli.embedded_redis import EmbeddedRedis, free_port
from sdq.celery_app import make_celery, send_generate
from sdq.job import Job, new_job_id
from sdq.settings import Settings
from sdq.store import redis_keys as keys
from sdq.store.jobs import create_job
from sdq.store.ops import OpRunner
from tests.helpers import process_env, start, stop, wait_until


def test_no_job_is_taken_before_the_model_is_loaded(
    redis_server: EmbeddedRedis,
    redis_client: redis.Redis,
    data_dir: Path,
    tiny_model_dir: Path,
    tmp_path: Path,
) -> None:
    store = OpRunner(redis_client)
    job = Job(
        id=new_job_id(),
        model="sdq/tiny",
        input={"prompt": "x", "seed": 1, "width": 64, "height": 64},
        created_at=time.time(),
    )
    assert store.run(create_job(job, 3600)).created
    celery = make_celery(Settings(), redis_server.url)
    send_generate(celery, job.id, "sdq/tiny")
    celery.close()
    queue = keys.queue("sdq/tiny")
    assert redis_client.llen(queue) == 1

    worker = start(
        ["worker", "--model", "sdq/tiny"],
        process_env(redis_server.url, data_dir, free_port()),
        tmp_path / "w.log",
    )
    try:
        violations = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert worker.poll() is None, (tmp_path / "w.log").read_text()
            taken = redis_client.llen(queue) == 0
            loaded = redis_client.zcard(keys.workers_index()) > 0
            if taken and not loaded:
                violations += 1
            if loaded and taken:
                break
            time.sleep(0.002)
        assert violations == 0, "the job left the queue before any worker had its model loaded"
        assert wait_until(
            lambda: redis_client.hget(keys.job(job.id), "status") == "succeeded", 60, "the job"
        )
        # Its cold start (process start to ready) is recorded for Retry-After and queue ETAs.
        cold_starts = redis_client.lrange(keys.model_cold_starts("sdq/tiny"), 0, -1)
        assert len(cold_starts) == 1 and float(cold_starts[0]) > 0, cold_starts
    finally:
        stop(worker)


def test_a_model_that_cannot_load_stops_the_worker_with_its_error(
    redis_server: EmbeddedRedis, data_dir: Path, tmp_path: Path
) -> None:
    env = process_env(
        redis_server.url,
        data_dir,
        free_port(),
        SDQ_MODELS=json.dumps([{"id": "bad/model", "source": str(tmp_path / "missing")}]),
        HF_HUB_OFFLINE="1",
    )
    log = tmp_path / "worker.log"
    worker = start(["worker", "--model", "bad/model"], env, log)
    try:
        code = worker.wait(timeout=120)
    finally:
        stop(worker)
    output = log.read_text()
    assert code != 0, output
    assert "could not load model bad/model" in output
    assert "the model could not be loaded" in output


def test_probes_say_ready_only_once_the_model_is_loaded(
    redis_server: EmbeddedRedis, redis_client: redis.Redis, data_dir: Path, tmp_path: Path
) -> None:
    """What the chart's startup, readiness and liveness probes run, against a real worker."""
    probes = tmp_path / "probes"
    env = process_env(redis_server.url, data_dir, free_port(), SDQ_PROBE_DIR=str(probes))

    def probe(name: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "worker.probes", name, "--dir", str(probes)]
        return subprocess.run(argv, capture_output=True, text=True, check=False)

    assert probe("ready").returncode == 1
    worker = start(["worker", "--model", "sdq/tiny"], env, tmp_path / "w.log")
    try:
        assert wait_until(lambda: probe("ready").returncode == 0, 120, "the ready probe")
        # a heartbeat exists by the time the pod reports ready
        assert redis_client.zcard(keys.workers_index()) == 1
        alive = probe("alive")
        assert alive.returncode == 0 and "heartbeat" in alive.stdout
    finally:
        stop(worker)
    assert probe("ready").returncode == 1  # a stopped worker is not ready
