"""Step previews: the linear latent→RGB projection and its latent-space choice."""

from __future__ import annotations

import base64
import io
from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from worker.engines.previews import (
    SD_FACTORS,
    SDXL_BIAS,
    SDXL_FACTORS,
    latent_space,
    preview_data_url,
    preview_image,
)


def one_hot(channel: int, value: float = 1.0) -> torch.Tensor:
    latents = torch.zeros(2, 4, 8, 12)
    latents[0, channel] = value
    return latents


@pytest.mark.parametrize("channel", range(4))
def test_each_channel_maps_through_its_row_of_factors(channel: int) -> None:
    pixels = preview_image(one_hot(channel, 0.5)).getpixel((0, 0))
    expected = tuple(round((float(v) * 0.5 + 1) * 127.5) for v in SD_FACTORS[channel])
    assert pixels == expected


def test_sdxl_space_adds_its_bias() -> None:
    pixels = preview_image(one_hot(0, 0.0), "sdxl").getpixel((0, 0))
    assert pixels == tuple(round((float(b) + 1) * 127.5) for b in SDXL_BIAS)
    assert not torch.equal(SD_FACTORS, SDXL_FACTORS)


def test_preview_is_the_first_image_at_latent_resolution_as_a_jpeg_data_url() -> None:
    url = preview_data_url(torch.randn(2, 4, 8, 12))
    prefix = "data:image/jpeg;base64,"
    assert url.startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :])))
    assert (image.format, image.size) == ("JPEG", (12, 8))


@pytest.mark.parametrize(
    ("pipeline", "space"),
    [
        (
            SimpleNamespace(vae=SimpleNamespace(config=SimpleNamespace(scaling_factor=0.18215))),
            "sd",
        ),
        (
            SimpleNamespace(vae=SimpleNamespace(config=SimpleNamespace(scaling_factor=0.13025))),
            "sdxl",
        ),
    ],
)
def test_latent_space_follows_the_vae(pipeline: object, space: str) -> None:
    assert latent_space(pipeline) == space
