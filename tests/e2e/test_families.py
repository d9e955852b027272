"""Every model family end to end: tiny SDXL, SD 3 and FLUX pipelines written by `sdq models
make-tiny --family`, each with an adapter written by `sdq models make-tiny-lora`, served by their
spec (`family`, `defaults`, `lora_dir`) through the same worker, over real HTTP in each dialect:
defaults filled in per model, text-to-image, image-to-image and LoRA, the A1111 and OpenAI
mappings, and what a family does not take refused by name."""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Iterator

import httpx
import numpy as np
import openai
import pytest
import webuiapi
from PIL import Image

from cli.embedded_redis import EmbeddedRedis
from tests.helpers import Stack, run_cli, start, started_api, wait_terminal, wait_until

FAMILIES = ("sdxl", "sd3", "flux")
SIZE = 64
DEFAULTS = {"width": SIZE, "height": SIZE, "num_inference_steps": 3}


def model_id(family: str) -> str:
    return f"test/tiny-{family}"


@pytest.fixture(scope="module")
def families(
    redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The API and one worker per family, each model's weights written by the CLI."""
    data_dir, logs = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("logs")
    specs = []
    for family in FAMILIES:
        folder = data_dir / "models" / family
        made = run_cli(dict(os.environ), "models", "make-tiny", "--family", family, str(folder))
        assert made.returncode == 0, made.stderr
        assert f"tiny {family} pipeline in" in made.stdout
        assert "torchvision" not in made.stderr and "it/s" not in made.stderr, "no notices, bars"
        adapters = data_dir / "loras" / family
        lora = run_cli(
            dict(os.environ), "models", "make-tiny-lora", str(folder), f"{adapters}/red.safetensors"
        )
        assert lora.returncode == 0, lora.stderr
        assert "torchvision" not in lora.stderr and "it/s" not in lora.stderr, "no notices, bars"
        assert "wrote LoRA adapter 'red'" in lora.stdout
        spec = {"id": model_id(family), "source": str(folder), "family": family}
        specs.append(spec | {"defaults": DEFAULTS, "lora_dir": str(adapters)})
    with started_api(redis_server.url, data_dir, logs, SDQ_MODELS=json.dumps(specs)) as stack:
        for family in FAMILIES:
            log = logs / f"worker-{family}.log"
            stack.workers.append(start(["worker", "--model", model_id(family)], stack.env, log))
        with stack.http() as client:
            for family in FAMILIES:
                wait_until(
                    lambda f=family: client.get(f"/v1/models/{model_id(f)}").json()["workers"],
                    120,
                    f"the {family} worker",
                )
        yield stack


def photo() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (SIZE, SIZE), (200, 40, 40)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def run(client: httpx.Client, family: str, **fields: object) -> dict[str, object]:
    body = {"model": model_id(family), "input": {"prompt": "a red ball"} | fields}
    created = client.post("/v1/predictions", json=body)
    assert created.status_code == 201, created.text
    done = wait_terminal(client, created.json()["id"])
    assert done["status"] == "succeeded", done
    image = Image.open(io.BytesIO(client.get(done["output"][0]).content))
    assert image.size == (SIZE, SIZE)
    return done


def pixels_of(client: httpx.Client, done: dict[str, object]) -> np.ndarray:
    output = done["output"]
    assert isinstance(output, list)
    return np.asarray(Image.open(io.BytesIO(client.get(output[0]).content))).astype(int)


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_draws_with_its_models_defaults_and_from_an_image(
    families: Stack, family: str
) -> None:
    with families.http() as client:
        model = client.get(f"/v1/models/{model_id(family)}").json()
        assert model["family"] == family
        expected = {"sdxl": (5.0, "Euler a"), "sd3": (7.0, "Euler"), "flux": (3.5, "Euler")}
        guidance, scheduler = expected[family]
        assert model["defaults"] == DEFAULTS | {"guidance_scale": guidance, "scheduler": scheduler}
        done = run(client, family)
        stored = done["input"]
        assert isinstance(stored, dict)
        assert (stored["guidance_scale"], stored["scheduler"]) == (guidance, scheduler)
        assert stored["num_inference_steps"] == 3
        run(client, family, image=photo(), prompt_strength=0.7)


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_draws_with_a_lora_adapter(families: Stack, family: str) -> None:
    with families.http() as client:
        assert client.get(f"/v1/models/{model_id(family)}").json()["loras"] == ["red"]
        plain = run(client, family, seed=5)
        adapted = run(client, family, seed=5, loras=[{"name": "red", "scale": 1.0}])
        again = run(client, family, seed=5)
        pixels = [pixels_of(client, done) for done in (plain, adapted, again)]
    assert np.abs(pixels[1] - pixels[0]).mean() > 1, "the adapter changes the image"
    assert np.array_equal(pixels[2], pixels[0]), "the next job without it draws as before"


@pytest.mark.parametrize(
    ("family", "fields", "field", "message"),
    [
        ("flux", {"negative_prompt": "blurry"}, "input.negative_prompt", "take no negative"),
        ("sd3", {"scheduler": "DPM++ 2M"}, "input.scheduler", "take only these schedulers: Euler"),
        ("flux", {"width": 72}, "input.width", "must be a multiple of 16"),
    ],
)
def test_what_a_family_does_not_take_is_refused_by_name(
    families: Stack, family: str, fields: dict[str, object], field: str, message: str
) -> None:
    body = {"model": model_id(family), "input": {"prompt": "x"} | fields}
    with families.http() as client:
        refused = client.post("/v1/predictions", json=body)
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["invalid_fields"]
    assert problem["field"] == field and message in problem["description"]


def test_a1111_client_on_flux_gets_its_sampler_and_defaults(families: Stack) -> None:
    webui = webuiapi.WebUIApi(host="127.0.0.1", port=families.port)  # samples with "Euler a"
    webui.set_options({"sd_model_checkpoint": model_id("flux")})
    assert [sampler["name"] for sampler in webui.get_samplers()] == ["Euler"]
    result = webui.txt2img(prompt="a red ball", width=SIZE, height=SIZE, steps=3, seed=1)
    assert result.image.size == (SIZE, SIZE)
    assert result.info["sampler_name"] == "Euler" and result.info["sd_model_name"] == model_id(
        "flux"
    )
    raw = httpx.post(f"{families.url}/sdapi/v1/txt2img", json={"prompt": "x"}, timeout=120)
    assert raw.status_code == 200, raw.text
    info = json.loads(raw.json()["info"])
    assert (info["width"], info["steps"], info["cfg_scale"]) == (SIZE, 3, 3.5), "the model's"


def test_openai_client_gets_the_models_default_size(families: Stack) -> None:
    client = openai.OpenAI(base_url=f"{families.url}/v1", api_key="x", max_retries=0, timeout=120)
    result = client.images.generate(
        prompt="a red ball", model=model_id("sdxl"), response_format="b64_json"
    )
    assert result.data is not None and result.data[0].b64_json is not None
    image = Image.open(io.BytesIO(base64.b64decode(result.data[0].b64_json)))
    assert image.size == (SIZE, SIZE)
