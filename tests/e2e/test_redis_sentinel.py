"""sdq on Redis behind a real Sentinel: the API, a worker and Celery find the master through
`redis+sentinel://` and a job runs end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cli.embedded_redis import free_port
from tests.helpers import start_redis, started_stack, wait_terminal, wait_until

PASSWORD = "s3cret/with:odd@chars"
MASTER = "sdqmaster"


@pytest.fixture
def sentinel_url(tmp_path: Path) -> Iterator[str]:
    """A password-protected master and one Sentinel watching it; yields sdq's URL for them."""
    master_port, sentinel_port = free_port(), free_port()
    master = start_redis(
        ["--port", str(master_port), "--bind", "127.0.0.1", "--requirepass", PASSWORD,
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        tmp_path,
    )  # fmt: skip
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {master_port} 1\n"
        f'sentinel auth-pass {MASTER} "{PASSWORD}"\n'
    )
    sentinel = start_redis([str(config), "--sentinel"], tmp_path)
    try:
        probe = redis.Redis(port=sentinel_port, decode_responses=True, socket_connect_timeout=0.5)

        def watching() -> bool:
            try:
                return probe.sentinel_get_master_addr_by_name(MASTER) is not None
            except redis.ConnectionError:
                return False

        wait_until(watching, 10, "the sentinel to watch the master")
        probe.close()
        quoted = PASSWORD.replace("/", "%2F").replace(":", "%3A").replace("@", "%40")
        # the first "sentinel" does not exist: clients must move on to the next one
        yield (
            f"redis+sentinel://:{quoted}@127.0.0.1:{free_port()},127.0.0.1:{sentinel_port}"
            f"/{MASTER}/0"
        )
    finally:
        for process in (sentinel, master):
            process.terminate()
            process.wait(timeout=10)


def test_a_job_runs_through_sentinel(
    sentinel_url: str, data_dir: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    with started_stack(sentinel_url, data_dir, tmp_path) as stack, stack.http() as client:
        created = client.post(
            "/v1/models/sdq/tiny/predictions",
            json={
                "input": {"prompt": "a dog", "width": 64, "height": 64, "num_inference_steps": 2}
            },
        )
        assert created.status_code == 201, created.text
        done = wait_terminal(client, created.json()["id"])
        assert done["status"] == "succeeded", done
        ready = client.get("/readyz").json()
        assert (ready["status"], ready["redis"]) == ("ok", "ok") and isinstance(ready["pid"], int)
