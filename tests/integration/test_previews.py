"""Step previews: the linear latent→RGB projection and its latent-space choice."""

from __future__ import annotations

import base64
import io
from types import SimpleNamespace

import pytest
import torch
from diffusers import FluxPipeline
from PIL import Image

from worker.engines.previews import (
    NO_PREVIEW,
    SD3_BIAS,
    SD3_FACTORS,
    SD_FACTORS,
    SDXL_BIAS,
    SDXL_FACTORS,
    latent_space,
    patch_rows,
    preview_data_url,
    preview_image,
    unpacked,
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


def pipeline_of(class_name: str, **vae_config: float) -> object:
    """A stand-in with the class name and VAE config `latent_space` reads."""
    vae = SimpleNamespace(config=SimpleNamespace(**vae_config))
    return type(class_name, (), {"vae": vae})()


@pytest.mark.parametrize(
    ("pipeline", "space"),
    [
        (pipeline_of("StableDiffusionPipeline", scaling_factor=0.18215), "sd"),
        (pipeline_of("StableDiffusionPipeline", scaling_factor=0.13025), "sdxl"),
        (pipeline_of("StableDiffusionXLImg2ImgPipeline", scaling_factor=0.13025), "sdxl"),
        (pipeline_of("StableDiffusion3Pipeline", latent_channels=16), "sd3"),
        (pipeline_of("StableDiffusion3InpaintPipeline", latent_channels=16), "sd3"),
        (pipeline_of("FluxPipeline", latent_channels=16), "flux"),
        (pipeline_of("SomeOtherPipeline", latent_channels=16), NO_PREVIEW),
        (pipeline_of("SanaPipeline", latent_channels=32), NO_PREVIEW),
    ],
)
def test_latent_space_follows_the_pipeline_and_its_vae(pipeline: object, space: str) -> None:
    assert latent_space(pipeline) == space


def test_sd3_space_projects_sixteen_channels_with_its_bias() -> None:
    latents = torch.zeros(1, 16, 4, 4)
    latents[0, 2] = 0.5
    pixels = preview_image(latents, "sd3").getpixel((1, 1))
    expected = [float(f) * 0.5 + float(b) for f, b in zip(SD3_FACTORS[2], SD3_BIAS, strict=True)]
    assert pixels == tuple(round((v + 1) * 127.5) for v in expected)


@pytest.mark.parametrize(
    ("height", "width"),
    [(8, 8), (8, 16), (16, 8), (6, 20), (24, 2), (2, 2), (128, 96)],
)
def test_flux_latents_unpack_as_diffusers_packs_them(height: int, width: int) -> None:
    latents = torch.randn(2, 16, height, width)
    packed = FluxPipeline._pack_latents(latents, 2, 16, height, width)
    assert torch.equal(unpacked(packed[0], height // 2), latents[0])
    image = preview_image(packed, "flux", height // 2)
    assert image.size == (width, height)


@pytest.mark.parametrize(("height", "rows"), [(1024, 64), (1040, 65), (520, 32), (64, 4)])
def test_flux_patch_rows_follow_the_pipelines_rounding(height: int, rows: int) -> None:
    pipeline = SimpleNamespace(vae_scale_factor=8)  # FLUX: 2 x 8 pixels a patch row
    assert patch_rows(pipeline, height) == rows


def test_patches_that_do_not_fill_the_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="12 patches do not make 5 rows"):
        unpacked(torch.zeros(12, 64), 5)
