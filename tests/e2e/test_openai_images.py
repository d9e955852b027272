"""OpenAI's Images API through the official `openai` client on a real stack over loopback."""

from __future__ import annotations

import base64
import io
from typing import Any, Literal

import httpx
import numpy as np
import openai
import pytest
from PIL import Image

from tests.helpers import Stack


@pytest.fixture(scope="module")
def client(stack: Stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{stack.url}/v1", api_key="unused", max_retries=0, timeout=120)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("response_format", ["url", "b64_json"])
def test_generate_with_both_response_formats(
    client: openai.OpenAI, stack: Stack, response_format: Literal["url", "b64_json"]
) -> None:
    result = client.images.generate(
        prompt="a pretty dog", model="sdq/tiny", n=2, size="64x64", quality="low",
        response_format=response_format,
    )  # fmt: skip
    assert result.data is not None and len(result.data) == 2 and result.created > 0
    for item in result.data:
        if response_format == "url":
            assert item.url is not None and item.url.startswith(stack.url)
            data = httpx.get(item.url).content
        else:
            assert item.b64_json is not None
            data = base64.b64decode(item.b64_json)
        assert Image.open(io.BytesIO(data)).size == (64, 64)


def test_openai_model_names_mean_the_default_model(client: openai.OpenAI) -> None:
    result = client.images.generate(prompt="x", model="dall-e-3", size="64x64", quality="low")
    assert result.data is not None and len(result.data) == 1


def test_edit_is_image_to_image_and_keeps_the_size(client: openai.OpenAI) -> None:
    init = Image.new("RGB", (72, 64), (200, 30, 30))
    result = client.images.edit(
        image=("red.png", png(init), "image/png"), prompt="x", response_format="b64_json",
        extra_body={"strength": 0.0},
    )  # fmt: skip
    assert result.data is not None and result.data[0].b64_json is not None
    out = Image.open(io.BytesIO(base64.b64decode(result.data[0].b64_json))).convert("RGB")
    assert out.size == (72, 64)
    assert np.abs(np.asarray(out, int) - np.asarray(init, int)).mean() < 1, "strength 0 keeps it"


@pytest.mark.parametrize(
    ("call", "param", "message"),
    [
        ({"prompt": "x", "size": "65x64"}, "size", "multiple of 8"),
        ({"prompt": "x", "size": "big"}, "size", "WIDTHxHEIGHT"),
        ({"prompt": "x", "size": "\u00b2x64"}, "size", "WIDTHxHEIGHT"),  # "²" is no ASCII digit
        ({"prompt": "x", "size": "9" * 5000 + "x64"}, "size", "WIDTHxHEIGHT"),
        ({"prompt": "x", "size": "99999999x64"}, "size", "must be between"),
        ({"prompt": "x", "model": "nope/model"}, "model", "unknown model"),
        ({"prompt": "x", "n": 9}, "n", "less than or equal to 8"),
        ({"prompt": "x", "quality": "ultra"}, "quality", "must be one of"),
    ],
)
def test_bad_requests_get_openais_error_shape(
    client: openai.OpenAI, call: dict[str, Any], param: str, message: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(**call)
    error = caught.value
    assert error.status_code == 400
    body = error.body
    assert isinstance(body, dict)
    assert body["param"] == param and message in body["message"]
    assert body["type"] == "invalid_request_error"


def test_bad_masks_and_unreadable_images_are_refused_by_name(client: openai.OpenAI) -> None:
    image = ("a.png", png(Image.new("RGB", (64, 64))), "image/png")
    with pytest.raises(openai.BadRequestError, match="must have an alpha channel") as caught:
        client.images.edit(image=image, mask=image, prompt="x")
    assert isinstance(caught.value.body, dict) and caught.value.body["param"] == "mask"
    with pytest.raises(openai.BadRequestError, match="not a readable image"):
        client.images.edit(image=("a.png", b"not an image", "image/png"), prompt="x")
