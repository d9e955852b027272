"""AUTOMATIC1111's API through `webuiapi` (the de-facto client) on a real stack over loopback."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import webuiapi
from PIL import Image

from tests.helpers import Stack, start, stop, wait_until

SMALL = {"width": 64, "height": 64, "steps": 4}


@pytest.fixture(scope="module")
def webui(stack: Stack) -> webuiapi.WebUIApi:
    return webuiapi.WebUIApi(host="127.0.0.1", port=stack.port, sampler="Euler a", steps=4)


@pytest.fixture(scope="module")
def fast_synthetic(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A synthetic worker at 5 ms per step, for the many-requests test."""
    log = tmp_path_factory.mktemp("synthetic") / "worker.log"
    env = stack.env | {"SDQ_SYNTHETIC_STEP_SECONDS": "0.005"}
    worker = start(["worker", "--model", "sdq/synthetic"], env, log)
    with stack.http() as client:
        wait_until(
            lambda: client.get("/v1/models/sdq/synthetic").json()["workers"] == 1,
            60,
            "the synthetic worker",
        )
    yield
    stop(worker)


def gradient(size: int = 64) -> Image.Image:
    x = np.linspace(0, 255, size, dtype=np.uint8)
    planes = [
        np.tile(x, (size, 1)),
        np.tile(x[::-1], (size, 1)),
        np.full((size, size), 90, np.uint8),
    ]
    return Image.fromarray(np.stack(planes, axis=-1), mode="RGB")


def test_txt2img_answers_images_parameters_and_info(webui: webuiapi.WebUIApi) -> None:
    result = webui.txt2img(prompt="a pretty dog", seed=1234, batch_size=2, cfg_scale=5, **SMALL)
    assert [image.size for image in result.images] == [(64, 64), (64, 64)]
    info = result.info
    assert (info["seed"], info["all_seeds"]) == (1234, [1234, 1235])
    assert (info["sampler_name"], info["steps"], info["cfg_scale"]) == ("Euler a", 4, 5)
    assert info["sd_model_name"] == "sdq/tiny" and len(info["infotexts"]) == 2
    assert "Seed: 1234" in info["infotexts"][0]
    assert result.parameters["prompt"] == "a pretty dog" and result.parameters["batch_size"] == 2


def test_seed_minus_one_gets_a_concrete_seed_that_reproduces_the_image(
    webui: webuiapi.WebUIApi,
) -> None:
    first = webui.txt2img(prompt="x", seed=-1, **SMALL)
    seed = first.info["seed"]
    assert isinstance(seed, int) and seed >= 0
    again = webui.txt2img(prompt="x", seed=seed, **SMALL)
    assert again.info["seed"] == seed
    assert np.array_equal(np.asarray(first.image), np.asarray(again.image))


def test_img2img_strength_zero_keeps_the_image_and_more_changes_it(
    webui: webuiapi.WebUIApi,
) -> None:
    init = gradient()
    kept = webui.img2img(images=[init], prompt="x", denoising_strength=0, seed=3, **SMALL)
    assert np.abs(np.asarray(kept.image, int) - np.asarray(init, int)).mean() < 1
    assert kept.info["denoising_strength"] == 0
    changed = webui.img2img(images=[init], prompt="x", denoising_strength=0.9, seed=3,
                            width=64, height=64, steps=10)  # fmt: skip
    assert np.abs(np.asarray(changed.image, int) - np.asarray(init, int)).mean() > 10
    resized = webui.img2img(images=[gradient(96)], prompt="x", denoising_strength=0, **SMALL)
    assert resized.image.size == (64, 64), "init images are resized to width x height"


def test_progress_and_interrupt_of_the_callers_running_job(webui: webuiapi.WebUIApi) -> None:
    webui.set_options({"show_progress_every_n_steps": 5})  # live previews, as in the web UI
    results: list[Any] = []
    long = {"prompt": "x", "width": 512, "height": 512, "steps": 150, "cfg_scale": 7}
    runner = threading.Thread(target=lambda: results.append(webui.txt2img(**long)))
    runner.start()
    progress = wait_until(
        lambda: (p := webui.get_progress())["progress"] > 0 and p, 60, "the job to make progress"
    )
    assert 0 < progress["progress"] < 1 and progress["state"]["sampling_steps"] == 150
    assert progress["state"]["job_count"] == 1 and progress["textinfo"].startswith("Step ")
    preview = wait_until(lambda: webui.get_progress()["current_image"], 60, "a live preview")
    assert Image.open(io.BytesIO(base64.b64decode(preview))).size == (64, 64)  # latent size
    webui.interrupt()
    runner.join(timeout=60)
    [result] = results
    assert result.images == [] and result.info["steps"] == 150
    after = webui.get_progress()
    assert after["progress"] == 0 and after["state"]["interrupted"] is True
    webui.set_options({"show_progress_every_n_steps": 0})


def test_models_samplers_and_options(webui: webuiapi.WebUIApi, stack: Stack) -> None:
    assert [m["title"] for m in webui.get_sd_models()] == ["sdq/tiny", "sdq/synthetic"]
    names = [s["name"] for s in webui.get_samplers()]
    assert {"Euler a", "DPM++ 2M Karras", "DDIM"} <= set(names)
    assert webui.get_options()["sd_model_checkpoint"] == "sdq/tiny"
    with httpx.Client(base_url=f"{stack.url}/sdapi/v1") as client:
        refused = client.post("/options", json={"sd_model_checkpoint": "nope/model"})
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "sd_model_checkpoint"
        bad = client.post("/txt2img", json={"prompt": "x", "width": 65, "steps": 4})
        assert bad.status_code == 422
        assert bad.json()["errors"] == [
            {"field": "width", "description": "must be a multiple of 8 (got 65)"}
        ]
        too_many = client.post("/txt2img", json={"prompt": "x", "batch_size": 3, "n_iter": 3})
        assert too_many.status_code == 422 and "between 1 and 8" in too_many.text


def test_the_chosen_checkpoint_serves_later_calls(
    webui: webuiapi.WebUIApi, fast_synthetic: None
) -> None:
    webui.util_set_model("sdq/synthetic", find_closest=False)
    try:
        result = webui.txt2img(prompt="x", **SMALL)
        assert result.info["sd_model_name"] == "sdq/synthetic"
        override = {"sd_model_checkpoint": "sdq/tiny [abcdef]"}
        assert (
            webui.txt2img(prompt="x", override_settings=override, **SMALL).info["sd_model_name"]
            == "sdq/tiny"
        )
    finally:
        webui.util_set_model("sdq/tiny", find_closest=False)


def test_fifty_requests_from_five_clients_all_answer_200(
    stack: Stack, fast_synthetic: None
) -> None:
    """The published load test's shape (`hey -n 50 -c 5`, `{"prompt": "pretty dog"}`) on the
    synthetic model, so that it is about the API and the queue, not CPU time."""
    body = {"prompt": "pretty dog", "override_settings": {"sd_model_checkpoint": "sdq/synthetic"}}

    def client(_: int) -> list[int]:
        with httpx.Client(base_url=stack.url, timeout=180) as http:
            return [http.post("/sdapi/v1/txt2img", json=body).status_code for _ in range(10)]

    with ThreadPoolExecutor(5) as pool:
        codes = [code for batch in pool.map(client, range(5)) for code in batch]
    assert codes == [200] * 50


def test_a1111_errors_keep_nothing_half_written(stack: Stack, tmp_path: Path) -> None:
    with httpx.Client(base_url=stack.url) as client:
        before = client.get("/v1/predictions", params={"limit": 1}).json()["results"]
        bad = client.post(
            "/sdapi/v1/img2img", json={"prompt": "x", "init_images": ["bm90IGFuIGltYWdl"]}
        )
        assert bad.status_code == 422
        assert bad.json()["errors"] == [
            {"field": "init_images", "description": "is not a readable image"}
        ]
        assert client.get("/v1/predictions", params={"limit": 1}).json()["results"] == before
    assert json.loads(json.dumps(before)) == before


def test_img2img_with_less_than_one_denoising_step_is_refused_not_failed(stack: Stack) -> None:
    """1 step at denoising 0.5 leaves diffusers no step to run: a 422, never a 500."""
    png = io.BytesIO()
    gradient(64).save(png, format="PNG")
    image = base64.b64encode(png.getvalue()).decode()
    body = {"prompt": "x", "init_images": [image], "steps": 1, "denoising_strength": 0.5}
    with httpx.Client(base_url=stack.url) as client:
        response = client.post("/sdapi/v1/img2img", json=body | {"width": 64, "height": 64})
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "steps" and "must be at least 1 step" in error["description"]


@pytest.mark.parametrize(
    ("batch_size", "n_iter", "fields", "message"),
    [
        (-2, -2, ["batch_size", "n_iter"], "greater than or equal to 1"),  # the product is 4
        (0, 1, ["batch_size"], "greater than or equal to 1"),
        (1, 0, ["n_iter"], "greater than or equal to 1"),
        (2, -3, ["n_iter"], "greater than or equal to 1"),
        (3, 3, ["batch_size"], "between 1 and 8"),
    ],
)
def test_batch_size_and_n_iter_are_each_at_least_one_and_at_most_eight_together(
    stack: Stack, batch_size: int, n_iter: int, fields: list[str], message: str
) -> None:
    body = {"prompt": "x", "batch_size": batch_size, "n_iter": n_iter, **SMALL}
    with httpx.Client(base_url=stack.url) as client:
        response = client.post("/sdapi/v1/txt2img", json=body)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [error["field"] for error in errors] == fields
    assert all(message in error["description"] for error in errors)


def test_a_caller_that_hangs_up_cancels_its_job(stack: Stack) -> None:
    long = {"prompt": "hang up", "width": 512, "height": 512, "steps": 150, "cfg_scale": 7}
    with httpx.Client(base_url=stack.url, timeout=httpx.Timeout(30, read=1)) as impatient:
        try:
            answer = impatient.post("/sdapi/v1/txt2img", json=long)
        except httpx.ReadTimeout:
            pass
        else:
            raise AssertionError(f"answered before hanging up: {answer.status_code} {answer.text}")
    with stack.http() as client:

        def created() -> dict[str, Any] | None:
            found = client.get("/v1/predictions", params={"limit": 1}).json()["results"]
            return found[0] if found and found[0]["input"]["prompt"] == "hang up" else None

        newest = wait_until(created, 30, "the job the caller left")
        wait_until(
            lambda: client.get(f"/v1/predictions/{newest['id']}").json()["status"] == "canceled",
            60,
            "the abandoned job to be canceled",
        )
