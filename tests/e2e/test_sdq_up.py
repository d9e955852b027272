"""`sdq up` as users run it: embedded Redis, API, workers from 0; SIGKILL recovery; clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

import httpx
import psutil
import pytest
import redis
from standardwebhooks import Webhook

from cli.embedded_redis import EmbeddedRedis, free_port
from sdq.store import redis_keys as keys
from sdq.store.heartbeats import WorkerState
from tests.file_links import unsigned
from tests.helpers import start_up, stream_entries, wait_terminal, wait_until
from tests.receiver import Receiver

LONG = {"width": 512, "height": 512, "num_inference_steps": 120, "guidance_scale": 1.0}


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def workers(url: str) -> int:
    count: int = httpx.get(f"{url}/v1/models/sdq/tiny", timeout=5).json()["workers"]
    return count


@pytest.fixture
def up_data_dir(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """A fresh data dir that already holds the session's tiny model (saves writing it again)."""
    data_dir = tmp_path / "data"
    (data_dir / "models").mkdir(parents=True)
    os.symlink(tiny_model_dir, data_dir / "models" / "sdq-tiny")
    return data_dir


def test_sdq_up_serves_the_tiny_model_stops_cleanly_and_keeps_jobs_across_restarts(
    up_data_dir: Path, up_log: Path
) -> None:
    data_dir = up_data_dir
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    up = start_up(data_dir, port, up_log)
    try:
        wait_until(lambda: ready(url), 120, "sdq up to be ready")
        assert workers(url) == 0, "no work yet: no worker"
        out = subprocess.run(  # the documented curl example, through the same HTTP
            [
                "curl", "-sS", "-X", "POST", f"{url}/v1/predictions",
                "-H", "Content-Type: application/json", "-H", "Prefer: wait",
                "-d",
                '{"model": "sdq/tiny", '
                '"input": {"prompt": "pretty dog", "width": 64, "height": 64}}',
            ],
            capture_output=True, check=True, text=True, timeout=90,
        )  # fmt: skip
        prediction = json.loads(out.stdout)
        if prediction["status"] not in ("succeeded", "failed", "canceled"):
            # Prefer: wait holds at most 60 s; a slow machine's cold start may take longer.
            with httpx.Client(base_url=url, timeout=30) as client:
                prediction = wait_terminal(client, prediction["id"], timeout=180)
        assert prediction["status"] == "succeeded", prediction  # a worker started for it
        assert workers(url) == 1
        assert (data_dir / "redis" / "appendonlydir").is_dir() or list(
            (data_dir / "redis").glob("*.aof*")
        )
        banner = " ".join(up_log.read_text().replace("│", " ").split())
        assert "sdq is up" in banner
        # Open on loopback, and it says so; its API answers only to the loopback names.
        assert "Access authentication is off: the API listens on 127.0.0.1" in banner, banner
        assert "set SDQ_ADMIN_KEY to require keys" in banner
        [api] = [c for c in psutil.Process(up.pid).children() if c.cmdline()[-1:] == ["api"]]
        assert api.environ()["SDQ_ALLOWED_HOSTS"] == "localhost,127.0.0.1,::1"

        # `sdq up` runs the webhook sender and allows loopback targets on its own machine.
        receiver = Receiver().start()
        try:
            hook = receiver.script("/done", 200)
            body = {"model": "sdq/tiny", "input": {"prompt": "x", "width": 64, "height": 64},
                    "webhook": hook, "webhook_events_filter": ["completed"]}  # fmt: skip
            created = httpx.post(f"{url}/v1/predictions", json=body, timeout=30).json()
            wait_until(lambda: receiver.at("/done"), 60, "the completed webhook")
            secret = subprocess.run(
                [sys.executable, "-m", "cli", "webhook-secret"],
                env={**os.environ, "SDQ_DATA_DIR": str(data_dir)},
                capture_output=True, text=True, check=True,
            ).stdout.strip()  # fmt: skip
            [call] = receiver.at("/done")
            assert Webhook(secret).verify(call.body, call.headers)["id"] == created["id"]
        finally:
            receiver.stop()
    finally:
        up.send_signal(signal.SIGINT)  # Ctrl-C
        assert up.wait(timeout=60) == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/healthz", timeout=2)

    # The embedded Redis persisted to the data dir: a new `sdq up` still has the job and its image.
    up = start_up(data_dir, port, up_log)
    try:
        wait_until(lambda: ready(url), 120, "sdq up to be ready again")
        again = httpx.get(f"{url}/v1/predictions/{prediction['id']}").json()
        assert unsigned(again) == unsigned(prediction), "links are signed afresh each time"
        assert httpx.get(prediction["output"][0]).status_code == 200
    finally:
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=60) == 0


def test_sigkilled_worker_job_runs_again_and_succeeds_exactly_once(
    up_data_dir: Path, redis_server: EmbeddedRedis, up_log: Path
) -> None:
    """With `sdq up`'s defaults: the scaler replaces the worker, recovery requeues the job."""
    data_dir = up_data_dir
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    r = redis.Redis.from_url(redis_server.url, decode_responses=True)
    r.flushdb()
    up = start_up(data_dir, port, up_log, SDQ_REDIS_URL=redis_server.url)
    try:
        wait_until(lambda: ready(url), 120, "sdq up to be ready")
        with httpx.Client(base_url=url, timeout=30) as client:
            created = client.post(
                "/v1/predictions", json={"model": "sdq/tiny", "input": {"prompt": "x"} | LONG}
            )
            job_id = created.json()["id"]

            def busy_worker_pid() -> int | None:
                for worker_id in cast(list[str], r.zrange(keys.workers_index(), 0, -1)):
                    doc = r.get(keys.worker(worker_id))
                    beat = json.loads(doc) if doc else {}
                    if beat.get("state") == WorkerState.BUSY and beat.get("job_id") == job_id:
                        return int(beat["pid"])
                return None

            pid = wait_until(busy_worker_pid, 120, "the worker to start the job")
            time.sleep(1.0)  # well into the denoising loop
            os.killpg(os.getpgid(pid), signal.SIGKILL)  # the whole worker: Celery parent and child

            done = wait_terminal(client, job_id, timeout=240)
        assert done["status"] == "succeeded", done
        assert done["attempt"] == 2
        events = [fields["type"] for _, fields in stream_entries(r, keys.job_events(job_id))]
        assert events.count("completed") == 1, events
        assert events.count("started") == 2 and "requeued" in events, events
        assert len(done["output"]) == 1
        assert sorted(p.name for p in (data_dir / "outputs" / job_id).iterdir()) == ["out-2-0.png"]
    finally:
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=60) == 0
        r.close()


def test_killing_sdq_up_outright_leaves_no_process_behind(up_data_dir: Path, up_log: Path) -> None:
    data_dir = up_data_dir
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    up = start_up(data_dir, port, up_log)
    wait_until(lambda: ready(url), 120, "sdq up to be ready")
    body = {"model": "sdq/tiny", "input": {"prompt": "x"} | LONG}
    httpx.post(f"{url}/v1/predictions", json=body, timeout=30).raise_for_status()
    wait_until(lambda: workers(url) == 1, 120, "a worker to start for the job")
    children = psutil.Process(up.pid).children(recursive=True)
    names = {" ".join(c.cmdline()[:6]) for c in children}
    assert any("redis-server" in n for n in names) and any("worker" in n for n in names), names
    up.kill()
    up.wait()
    wait_until(
        lambda: not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children),
        60,
        f"the children of the killed sdq up to exit: {names}",
        interval=0.2,
    )
