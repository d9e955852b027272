"""Inpainting on the real diffusers pipeline (tiny random weights): only the masked part changes,
the inpainting pipeline shares the loaded weights, and each way of starting the masked part (the
image, its surroundings, only the masked area at full size) works."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sdq.inputs import InputLimits, parse_input
from worker.engines.diffusers_engine import LoadedModel, SchedulerCache, generate
from worker.engines.inpaint import blurred_mask, filled, pasted_back

SIZE = 64
BLUR = 2
# The masked square, and the margin its blurred edge may reach beyond it.
BOX = (16, 16, 40, 40)
MARGIN = 3 * BLUR


def photo() -> Image.Image:
    """A starting image with structure: a gradient with stripes."""
    x = np.linspace(0, 255, SIZE, dtype=np.uint8)
    rgb = np.stack([np.tile(x, (SIZE, 1)), np.tile(x[:, None], (1, SIZE)), np.zeros((SIZE, SIZE))])
    rgb = rgb.transpose(1, 2, 0).astype(np.uint8)
    rgb[::8] = 255
    return Image.fromarray(rgb, "RGB")


def square_mask() -> Image.Image:
    mask = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(mask).rectangle((BOX[0], BOX[1], BOX[2] - 1, BOX[3] - 1), fill=255)
    return mask


def outside(array: np.ndarray) -> np.ndarray:
    """The pixels beyond the mask and its blurred edge."""
    keep = np.ones(array.shape[:2], dtype=bool)
    keep[BOX[1] - MARGIN : BOX[3] + MARGIN, BOX[0] - MARGIN : BOX[2] + MARGIN] = False
    return array[keep]


def inside(array: np.ndarray) -> np.ndarray:
    return array[BOX[1] + MARGIN : BOX[3] - MARGIN, BOX[0] + MARGIN : BOX[2] - MARGIN]


def inpaint(
    model: LoadedModel, schedulers: SchedulerCache, mask: Image.Image, **fields: object
) -> np.ndarray:
    raw = {
        "prompt": "a red ball",
        "width": SIZE,
        "height": SIZE,
        "num_inference_steps": 4,
        "seed": 3,
        "image": "job/input-0.png",
        "mask": "job/mask.png",
        "mask_blur": BLUR,
        "prompt_strength": 1.0,
    }
    request = parse_input(raw | fields, InputLimits())
    [image] = generate(model, schedulers, request, lambda *_: False, photo(), mask)
    assert image.size == (SIZE, SIZE)
    return np.asarray(image).astype(int)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({}, id="original"),
        pytest.param({"inpainting_fill": "fill"}, id="fill"),
        pytest.param({"mask_crop_padding": 4}, id="only the masked area"),
    ],
)
def test_only_the_masked_part_changes(
    model: LoadedModel, schedulers: SchedulerCache, fields: dict[str, object]
) -> None:
    original = np.asarray(photo()).astype(int)
    result = inpaint(model, schedulers, square_mask(), **fields)
    assert np.array_equal(outside(result), outside(original)), "kept exactly outside the mask"
    assert np.abs(inside(result) - inside(original)).mean() > 10, "repainted inside it"


def test_a_mask_with_nothing_white_keeps_the_image(
    model: LoadedModel, schedulers: SchedulerCache
) -> None:
    black = Image.new("L", (SIZE, SIZE), 0)
    assert np.array_equal(inpaint(model, schedulers, black), np.asarray(photo()).astype(int))


def test_the_inpainting_pipeline_shares_the_loaded_weights(model: LoadedModel) -> None:
    pipeline = model.inpainting()
    assert type(pipeline).__name__ == "StableDiffusionInpaintPipeline"
    assert pipeline.unet is model.pipeline.unet  # type: ignore[attr-defined]
    assert pipeline.vae is model.pipeline.vae  # type: ignore[attr-defined]
    assert model.inpainting() is pipeline


def test_fill_starts_the_masked_part_from_its_surroundings() -> None:
    image = Image.new("RGB", (SIZE, SIZE), (0, 0, 255))
    ImageDraw.Draw(image).rectangle((BOX[0], BOX[1], BOX[2] - 1, BOX[3] - 1), fill=(255, 0, 0))
    result = np.asarray(filled(image, square_mask())).astype(int)
    assert np.abs(inside(result) - [0, 0, 255]).max() <= 2, "the red square is painted over"
    assert np.array_equal(outside(result), outside(np.asarray(image).astype(int)))


def test_pasting_back_blends_only_across_the_blurred_edge() -> None:
    original = Image.new("RGB", (SIZE, SIZE), (0, 0, 0))
    generated = Image.new("RGB", (SIZE, SIZE), (200, 200, 200))
    result = np.asarray(pasted_back(original, generated, blurred_mask(square_mask(), BLUR)))
    assert (outside(result) == 0).all()
    assert (inside(result) == 200).all()
    edge = result[BOX[1] + SIZE // 8 - 8, BOX[0]]  # on the mask's left edge: between the two
    assert 0 < edge[0] < 200
