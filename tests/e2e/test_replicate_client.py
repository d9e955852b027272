"""Replicate's official Python client against sdq's native API over loopback."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image
from replicate.client import Client
from replicate.exceptions import ReplicateError

from tests.helpers import Stack, wait_until

SMALL = {"width": 64, "height": 64, "num_inference_steps": 4}


@pytest.fixture(scope="module")
def client(stack: Stack) -> Client:
    return Client(api_token="unused", base_url=stack.url)


def test_run_returns_the_output_urls(client: Client) -> None:
    output: Any = client.run("sdq/tiny", input={"prompt": "a pretty dog", "num_outputs": 2} | SMALL)
    assert len(output) == 2
    for url in output:
        image = Image.open(io.BytesIO(httpx.get(str(url)).content))
        assert image.size == (64, 64)


def test_create_get_wait_and_list(client: Client) -> None:
    prediction = client.models.predictions.create(model="sdq/tiny", input={"prompt": "x"} | SMALL)
    assert prediction.status in {"starting", "processing", "succeeded"}
    prediction.wait()
    assert prediction.status == "succeeded" and prediction.output
    again = client.predictions.get(prediction.id)
    assert (again.id, again.status, again.output) == (prediction.id, "succeeded", prediction.output)
    assert again.metrics and again.metrics["predict_time"] > 0
    assert prediction.id in [p.id for p in client.predictions.list().results]


def test_create_by_version_and_cancel(client: Client) -> None:
    long = {"prompt": "x", "width": 512, "height": 512, "num_inference_steps": 150}
    prediction = client.predictions.create(version="sdq/tiny", input=long)
    wait_until(lambda: client.predictions.get(prediction.id).status == "processing", 60, "start")
    prediction.cancel()
    prediction.wait()
    assert prediction.status == "canceled" and prediction.output is None


def test_bad_input_is_refused_naming_the_field(client: Client) -> None:
    with pytest.raises(ReplicateError) as refused:
        client.run("sdq/tiny", input={"prompt": "x", "width": 65})
    assert refused.value.status == 422 and "input.width" in str(refused.value)


def test_a_wait_that_runs_out_says_starting_so_clients_keep_polling(
    client: Client, stack: Stack
) -> None:
    long = {"prompt": "x", "width": 512, "height": 512, "num_inference_steps": 60}
    with stack.http() as http:
        waited = http.post(
            "/v1/predictions",
            json={"model": "sdq/tiny", "input": long},
            headers={"Prefer": "wait=1"},
        ).json()
        assert waited["status"] == "starting"
        prediction = client.predictions.get(waited["id"])
        prediction.wait()
        assert prediction.status == "succeeded"
