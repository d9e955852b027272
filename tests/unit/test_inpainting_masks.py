"""Inpainting masks as other APIs send them: OpenAI's transparency and AUTOMATIC1111's fields and
inverted masks become sdq's mask (white = repaint); what cannot is refused naming the field."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from api.a1111.shapes import Img2ImgRequest, native_input
from api.masks import inverted_mask, mask_from_transparency
from sdq.inputs import InvalidInput

PIXELS = 4096 * 4096


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def decoded(text: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(text))))


def test_openai_transparent_pixels_become_white() -> None:
    alpha = np.array([[0, 255], [128, 0]], dtype=np.uint8)
    rgba = np.dstack([np.zeros((2, 2, 3), dtype=np.uint8), alpha])
    mask = mask_from_transparency(encoded(Image.fromarray(rgba, "RGBA")), "mask", (2, 2), PIXELS)
    assert decoded(mask).tolist() == [[255, 0], [127, 255]]


@pytest.mark.parametrize(
    ("image", "fmt", "size", "message"),
    [
        (
            Image.new("RGB", (2, 2)),
            "PNG",
            (2, 2),
            "must have an alpha channel: its transparent pixels are the ones repainted",
        ),
        (Image.new("RGBA", (2, 2)), "PNG", (4, 2), "is 2x2; it must be the image's size, 4x2"),
        (Image.new("RGB", (2, 2)), "JPEG", (2, 2), "must be a PNG (got JPEG)"),
    ],
)
def test_openai_masks_that_are_refused(
    image: Image.Image, fmt: str, size: tuple[int, int], message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        mask_from_transparency(encoded(image, fmt), "mask", size, PIXELS)
    [problem] = caught.value.fields
    assert (problem.field, problem.description) == ("mask", message)


def test_openai_refuses_what_is_no_image() -> None:
    with pytest.raises(InvalidInput) as caught:
        mask_from_transparency(b"not a png", "mask", (2, 2), PIXELS)
    assert caught.value.fields[0].description == "is not a readable image"


def test_a1111_inverted_mask_swaps_black_and_white() -> None:
    grey = Image.fromarray(np.array([[0, 255]], dtype=np.uint8), "L")
    sent = "data:image/png;base64," + base64.b64encode(encoded(grey)).decode()
    assert decoded(inverted_mask(sent, "mask", PIXELS)).tolist() == [[255, 0]]


IMG = {"init_images": ["aW1hZ2U="], "prompt": "dog"}


# (the img2img request's inpainting fields, the sdq input fields they become)
A1111_FIELDS = [
    pytest.param({}, {}, id="no mask: plain image-to-image"),
    pytest.param(
        {"mask": "bWFzaw==", "inpaint_full_res": False},
        {"mask": "bWFzaw==", "mask_blur": 4, "inpainting_fill": "fill"},
        id="webuiapi's defaults, whole picture",
    ),
    pytest.param(
        {"mask": "bWFzaw==", "inpainting_fill": 1, "mask_blur": 8, "inpaint_full_res": False},
        {"mask": "bWFzaw==", "mask_blur": 8, "inpainting_fill": "original"},
        id="original",
    ),
    pytest.param(
        {"mask": "bWFzaw==", "inpaint_full_res": True, "inpaint_full_res_padding": 32},
        {"mask": "bWFzaw==", "mask_blur": 4, "inpainting_fill": "fill", "mask_crop_padding": 32},
        id="only masked",
    ),
]


@pytest.mark.parametrize(("fields", "expected"), A1111_FIELDS)
def test_a1111_inpainting_fields(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    raw = native_input(Img2ImgRequest.model_validate(IMG | fields))
    fields_of_inpainting = ("mask", "mask_blur", "inpainting_fill", "mask_crop_padding")
    assert {k: v for k, v in raw.items() if k in fields_of_inpainting} == expected


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"inpainting_fill": 2}, "inpainting_fill", "must be 0 (fill) or 1 (original); got 2"),
        ({"inpainting_mask_invert": 2}, "inpainting_mask_invert", "must be 0 (repaint the"),
    ],
)
def test_a1111_inpainting_refusals(fields: dict[str, Any], field: str, message: str) -> None:
    body = Img2ImgRequest.model_validate(IMG | {"mask": "bWFzaw=="} | fields)
    with pytest.raises(InvalidInput) as caught:
        native_input(body)
    [problem] = caught.value.fields
    assert problem.field == field
    assert problem.description.startswith(message)


def test_openai_refuses_a_mask_of_too_many_pixels_before_decoding_it() -> None:
    big = encoded(Image.new("RGBA", (100, 100)))
    with pytest.raises(InvalidInput) as caught:
        mask_from_transparency(big, "mask", (100, 100), max_pixels=50 * 50)
    [problem] = caught.value.fields
    assert problem.description == "has 100x100 pixels; at most 2500 are accepted"
