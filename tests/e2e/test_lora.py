"""LoRA adapters end to end: real HTTP, real Redis, a real Celery worker, the tiny model and a
random adapter in its folder (DATA_DIR/loras/sdq/tiny): a job asking for it succeeds with other
pixels than one without it, scale 0 draws as none, and an adapter the model lacks is refused;
AUTOMATIC1111's `<lora:NAME:WEIGHT>` prompt tags and `/sdapi/v1/loras` through its official
client."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import redis
import webuiapi
from PIL import Image

from sdq.store import heartbeats
from sdq.store.ops import OpRunner
from tests.helpers import Stack, wait_terminal, wait_until
from worker.engines.tiny_lora import make_tiny_lora

SMALL = {
    "prompt": "a pretty dog",
    "width": 64,
    "height": 64,
    "num_inference_steps": 3,
    "guidance_scale": 7.0,
    "seed": 5,
}


@pytest.fixture(scope="module")
def adapter(data_dir: Path, tiny_model_dir: Path) -> str:
    make_tiny_lora(tiny_model_dir, data_dir / "loras" / "sdq" / "tiny" / "red.safetensors")
    return "red"


@pytest.fixture
def client(stack: Stack, adapter: str) -> Iterator[httpx.Client]:
    with stack.http() as http:
        yield http


def pixels(client: httpx.Client, loras: list[dict[str, Any]], **fields: Any) -> np.ndarray:
    body = {"model": "sdq/tiny", "input": SMALL | fields | {"loras": loras}}
    created = client.post("/v1/predictions", json=body)
    assert created.status_code == 201, created.text
    done = wait_terminal(client, created.json()["id"])
    assert done["status"] == "succeeded", done
    assert done["input"].get("loras", []) == [{"scale": 1.0} | lora for lora in loras]
    image = client.get(done["output"][0])
    return np.asarray(Image.open(io.BytesIO(image.content))).astype(int)


def test_a_job_with_an_adapter_draws_otherwise_and_scale_zero_as_none(
    client: httpx.Client, adapter: str
) -> None:
    plain = pixels(client, [])
    assert np.abs(pixels(client, [{"name": adapter, "scale": 1.0}]) - plain).mean() > 1
    assert np.array_equal(pixels(client, [{"name": adapter, "scale": 0}]), plain)
    assert np.array_equal(pixels(client, []), plain), "nothing of the adapter stays behind"


def test_the_worker_advertises_the_adapters_it_holds(
    client: httpx.Client, stack: Stack, adapter: str
) -> None:
    pixels(client, [{"name": adapter, "scale": 1.0}])
    store = OpRunner(redis.Redis.from_url(stack.redis_url, decode_responses=True))
    ttl = stack.settings().heartbeat_ttl_s

    def advertised() -> list[list[str]] | None:
        beats = store.run(heartbeats.live_workers(time.time(), ttl))
        held = [beat.adapters for beat in beats if beat.model == "sdq/tiny"]
        return held if held and all(adapter in names for names in held) else None

    # One worker serves sdq/tiny here: the one that ran the job holds the adapter after it.
    assert wait_until(advertised, 30, "the heartbeat to list the adapter") == [[adapter]]


def test_an_adapter_the_model_lacks_is_refused_naming_those_it_has(
    client: httpx.Client, adapter: str
) -> None:
    body = {"model": "sdq/tiny", "input": SMALL | {"loras": [{"name": "blue"}]}}
    refused = client.post("/v1/predictions", json=body)
    assert refused.status_code == 422
    [problem] = refused.json()["invalid_fields"]
    assert problem["field"] == "input.loras.0.name"
    assert problem["description"] == "unknown adapter 'blue'; this model's adapters: red"


def test_a1111_prompt_tags_ask_for_adapters_as_the_native_field_does(
    client: httpx.Client, stack: Stack, adapter: str
) -> None:
    webui = webuiapi.WebUIApi(host="127.0.0.1", port=stack.port, sampler="Euler a", steps=3)
    assert [lora["name"] for lora in webui.get_loras()] == [adapter]
    tagged = webui.txt2img(
        prompt=f"a pretty dog <lora:{adapter}:0.5>",
        width=64,
        height=64,
        seed=SMALL["seed"],
        cfg_scale=SMALL["guidance_scale"],
    )
    assert tagged.info["prompt"] == f"a pretty dog <lora:{adapter}:0.5>"
    native = pixels(client, [{"name": adapter, "scale": 0.5}], prompt="a pretty dog ")
    assert np.array_equal(np.asarray(tagged.image).astype(int), native)


def test_a1111_refuses_a_tag_for_an_adapter_the_model_lacks_naming_the_prompt(
    client: httpx.Client, adapter: str
) -> None:
    body = {"prompt": "a dog <lora:blue:1>", "width": 64, "height": 64, "steps": 3}
    refused = client.post("/sdapi/v1/txt2img", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [
        {"field": "prompt", "description": "unknown adapter 'blue'; this model's adapters: red"}
    ]
    malformed = client.post("/sdapi/v1/txt2img", json=body | {"prompt": "<lora:red:a:b>"})
    assert malformed.status_code == 422, malformed.text
    assert malformed.json()["errors"] == [
        {
            "field": "prompt",
            "description": "<lora:red:a:b> must be <lora:NAME> or <lora:NAME:WEIGHT>",
        }
    ]


def test_the_model_lists_its_adapters(client: httpx.Client, adapter: str) -> None:
    assert client.get("/v1/models/sdq/tiny").json()["loras"] == [adapter]
