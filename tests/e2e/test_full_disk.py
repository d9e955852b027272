"""A real worker whose outputs folder is a small tmpfs: an image that does not fit fails its job
with the clear error and leaves no file, the worker takes the next job; below the free-space
floor it claims nothing (the job waits, queued), its readiness probe says why, and once space is
freed the waiting job runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import redis

from cli.embedded_redis import EmbeddedRedis
from sdq.store import redis_keys as keys
from tests.filesystems import PAGE, entries, fill, tmpfs
from tests.helpers import started_stack, wait_terminal, wait_until

INPUT = {"prompt": "x", "width": 64, "height": 64, "seed": 7, "num_inference_steps": 2}
REQUEST = {"model": "sdq/tiny", "input": INPUT | {"num_outputs": 2}}


def submit(client: httpx.Client) -> str:
    response = client.post("/v1/predictions", json=REQUEST)
    assert response.status_code == 201, response.text
    prediction_id: str = response.json()["id"]
    return prediction_id


def run(client: httpx.Client) -> dict[str, Any]:
    return wait_terminal(client, submit(client))


def probe(name: str, probes: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "worker.probes", name, "--dir", str(probes)]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def pages(size: int) -> int:
    return -(-size // PAGE) * PAGE


def test_a_full_outputs_disk_fails_the_job_clearly_and_the_worker_goes_on(
    redis_server: EmbeddedRedis,
    redis_client: redis.Redis,
    tiny_model_dir: Path,
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(tiny_model_dir.parent)  # the session's tiny model
    probes, logs = tmp_path / "probes", tmp_path / "logs"
    logs.mkdir()
    settings = {"SDQ_PROBE_DIR": str(probes), "SDQ_MIN_FREE_DISK_BYTES": "1"}
    with (
        tmpfs(data / "outputs", 512 * PAGE) as outputs,
        started_stack(redis_server.url, data, logs, **settings) as stack,
        stack.http() as client,
    ):
        [worker] = stack.workers
        baseline = run(client)
        assert baseline["status"] == "succeeded", baseline
        sizes = [(outputs / baseline["id"] / f"out-1-{i}.png").stat().st_size for i in (0, 1)]
        assert min(sizes) > PAGE, sizes
        stored = entries(outputs)

        # Room above the floor, for the first image at most: the job fails with the cause.
        filler = fill(outputs, leave=pages(sizes[0]))
        failed = run(client)
        assert failed["status"] == "failed", failed
        assert failed["error"].startswith(f"no space left on the output storage ({outputs}): ")
        assert failed["error"].endswith(" free; free some space or point SDQ_DATA_DIR elsewhere")
        assert entries(outputs) == stored  # neither a temp file nor the first image is left
        assert worker.poll() is None
        filler.unlink()
        assert run(client)["status"] == "succeeded"  # the next job, on the same worker

        # Below the floor: not ready, saying why; a job waits queued instead of failing.
        assert probe("ready", probes).returncode == 0
        filler = fill(outputs, leave=0)
        not_ready = probe("ready", probes)
        assert not_ready.returncode == 1
        assert f"low space on the output storage ({outputs}): 0 bytes free" in not_ready.stderr
        assert probe("started", probes).returncode == 0
        waiting = submit(client)
        worker_log = logs / "worker.log"
        wait_until(
            lambda: "taking no jobs: low space on the output storage" in worker_log.read_text(),
            60,
            "the worker to decline the job",
        )
        assert redis_client.hget(keys.job(waiting), "status") == "queued"
        filler.unlink()
        done = wait_terminal(client, waiting)  # its token comes back through re-delivery
        assert done["status"] == "succeeded", done
        assert probe("ready", probes).returncode == 0
        assert "taking jobs again" in worker_log.read_text()
        assert worker.poll() is None
