"""Nothing accepted is lost when the API restarts or when no worker is up yet."""

from __future__ import annotations

from tests.file_links import unsigned
from tests.helpers import Stack, stop, wait_terminal

SMALL = {"width": 64, "height": 64, "num_inference_steps": 4}


def test_job_and_outputs_survive_an_api_restart(stack: Stack) -> None:
    with stack.http() as client:
        done = client.post(
            "/v1/predictions",
            json={"model": "sdq/tiny", "input": {"prompt": "keep"} | SMALL},
            headers={"Prefer": "wait"},
        ).json()
        assert done["status"] == "succeeded"
        image = client.get(done["output"][0]).content
    assert stack.api is not None
    stop(stack.api)
    stack.start_api()
    with stack.http() as client:
        assert unsigned(client.get(f"/v1/predictions/{done['id']}").json()) == unsigned(done)
        assert client.get(done["output"][0]).content == image


def test_job_accepted_while_no_worker_runs_completes_when_one_starts(stack: Stack) -> None:
    for worker in stack.workers:
        stop(worker)
    stack.workers.clear()
    with stack.http() as client:
        created = client.post(
            "/v1/predictions", json={"model": "sdq/tiny", "input": {"prompt": "later"} | SMALL}
        )
        assert created.status_code == 201
        prediction_id = created.json()["id"]
        assert client.get(f"/v1/predictions/{prediction_id}").json()["status"] == "starting"
        stack.start_worker()
        assert wait_terminal(client, prediction_id)["status"] == "succeeded"
