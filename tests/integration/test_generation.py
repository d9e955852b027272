"""Generation on the real diffusers pipeline (tiny random weights), loaded via from_pretrained."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from sdq.inputs import GenerationInput, InputLimits, parse_input
from sdq.schedulers import SCHEDULERS
from worker.engines.base import GenerationCanceled
from worker.engines.diffusers_engine import (
    LoadedModel,
    SchedulerCache,
    generate,
)
from worker.png import encode_png


def request(**fields: object) -> GenerationInput:
    base = {
        "prompt": "a pretty dog",
        "width": 64,
        "height": 64,
        "num_inference_steps": 3,
        "seed": 1,
    }
    return parse_input(base | fields, InputLimits())


def never_stop(step: int, total: int, latents: object) -> bool:
    return False


def pixels(model: LoadedModel, schedulers: SchedulerCache, **fields: object) -> list[np.ndarray]:
    images = generate(model, schedulers, request(**fields), on_step=never_stop)
    return [np.asarray(image) for image in images]


def test_loads_through_from_pretrained_as_a_real_model(model: LoadedModel) -> None:
    assert type(model.pipeline).__name__ == "StableDiffusionPipeline"
    assert model.pipeline.vae_scale_factor == 8  # type: ignore[attr-defined]
    assert model.device == "cpu"


def test_same_seed_same_pixels_other_seed_other_pixels(
    model: LoadedModel, schedulers: SchedulerCache
) -> None:
    first = pixels(model, schedulers, seed=42)
    again = pixels(model, schedulers, seed=42)
    other = pixels(model, schedulers, seed=43)
    assert np.array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other[0])


def test_requested_size_and_count(model: LoadedModel, schedulers: SchedulerCache) -> None:
    images = pixels(model, schedulers, width=96, height=64, num_outputs=2)
    assert [image.shape for image in images] == [(64, 96, 3)] * 2
    assert not np.array_equal(images[0], images[1]), "each output has its own seed"
    # Output i reproduces alone with seed + i (up to float rounding of batched kernels).
    alone = pixels(model, schedulers, width=96, height=64, seed=2)[0]
    assert np.abs(images[1].astype(int) - alone.astype(int)).max() <= 2


@pytest.mark.parametrize("name", [choice.name for choice in SCHEDULERS])
def test_every_scheduler_runs(model: LoadedModel, schedulers: SchedulerCache, name: str) -> None:
    [image] = pixels(model, schedulers, scheduler=name, num_inference_steps=4)
    assert image.shape == (64, 64, 3)


def test_cancel_stops_between_steps(model: LoadedModel, schedulers: SchedulerCache) -> None:
    calls = 0

    def cancel_on_second_check(step: int, total: int, latents: object) -> bool:
        nonlocal calls
        calls += 1
        assert (step, total) == (calls, 50)
        return calls >= 2

    with pytest.raises(GenerationCanceled):
        generate(model, schedulers, request(num_inference_steps=50), on_step=cancel_on_second_check)
    assert calls == 2, "stopped at the first step after the request, not at the end"


def test_steps_count_timesteps_for_samplers_that_take_more(
    model: LoadedModel, schedulers: SchedulerCache
) -> None:
    seen: list[tuple[int, int]] = []

    def record(step: int, total: int, latents: object) -> bool:
        seen.append((step, total))
        return False

    generate(model, schedulers, request(scheduler="Heun", num_inference_steps=4), on_step=record)
    total = seen[0][1]
    assert total >= 4
    assert seen == [(i, total) for i in range(1, total + 1)]


def test_png_carries_the_parameters(model: LoadedModel, schedulers: SchedulerCache) -> None:
    req = request(negative_prompt="blurry")
    [image] = generate(model, schedulers, req, on_step=never_stop)
    decoded = Image.open(io.BytesIO(encode_png(image, req, "sdq/tiny", 1)))
    assert decoded.format == "PNG" and isinstance(decoded, PngImagePlugin.PngImageFile)
    text = decoded.text
    assert "Negative prompt: blurry" in text["parameters"]
    assert "Seed: 1, Size: 64x64, Model: sdq/tiny" in text["parameters"]
    assert json.loads(text["sdq"])["seed"] == 1


def gradient(width: int = 64, height: int = 64) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)
    rgb = np.stack(
        [
            np.tile(x, (height, 1)),
            np.tile(x[::-1], (height, 1)),
            np.full((height, width), 128, np.uint8),
        ],
        axis=-1,
    )
    return Image.fromarray(rgb, mode="RGB")


def test_image_to_image_shares_the_loaded_weights(model: LoadedModel) -> None:
    img2img = model.image_to_image()
    assert type(img2img).__name__ == "StableDiffusionImg2ImgPipeline"
    assert (
        img2img.unet is model.pipeline.unet  # type: ignore[attr-defined]
        and img2img.vae is model.pipeline.vae  # type: ignore[attr-defined]
    )
    assert model.image_to_image() is img2img, "built once"


def test_image_to_image_strength_zero_keeps_the_image_and_more_changes_it(
    model: LoadedModel, schedulers: SchedulerCache
) -> None:
    init = gradient()
    steps: list[int] = []

    def count(step: int, total: int, latents: object) -> bool:
        steps.append(step)
        return False

    kept = generate(model, schedulers, request(image="k", prompt_strength=0), count, init)
    assert np.array_equal(np.asarray(kept[0]), np.asarray(init)) and steps == []
    changed = generate(
        model,
        schedulers,
        request(image="k", prompt_strength=0.9, num_inference_steps=10),
        count,
        init,
    )
    difference = np.abs(np.asarray(changed[0], dtype=int) - np.asarray(init, dtype=int)).mean()
    assert changed[0].size == (64, 64)
    assert difference > 10, f"mean pixel difference {difference:.1f}"
    assert steps and max(steps) <= 9, "strength 0.9 of 10 steps runs 9"
