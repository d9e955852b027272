"""Cheap step previews: a fixed linear latent→RGB projection, no VAE, encoded as a small JPEG."""

from __future__ import annotations

import base64
import io
from typing import Any

import torch
from PIL import Image

# Least-squares fits of RGB on the 4 latent channels (as published with ComfyUI's latent formats).
SD_FACTORS = torch.tensor(
    [
        [0.3512, 0.2297, 0.3227],
        [0.3250, 0.4974, 0.2350],
        [-0.2829, 0.1762, 0.2721],
        [-0.2120, -0.2616, -0.7177],
    ]
)
SD_BIAS = torch.zeros(3)
SDXL_FACTORS = torch.tensor(
    [
        [0.3651, 0.4232, 0.4341],
        [-0.2533, -0.0042, 0.1068],
        [0.1076, 0.1111, -0.0362],
        [-0.3165, -0.2492, -0.2188],
    ]
)
SDXL_BIAS = torch.tensor([0.1084, -0.0175, -0.0011])


NO_PREVIEW = "none"


def latent_space(pipeline: Any) -> str:
    """`sdxl` for SDXL-family pipelines (their VAE's scaling factor), `sd` for SD 1.x/2.x, and
    `none` for latents these projections do not fit (SD 3's and FLUX's 16 channels, FLUX's
    packed into patches): those send no previews."""
    config = getattr(getattr(pipeline, "vae", None), "config", None)
    if getattr(config, "latent_channels", 4) != 4:
        return NO_PREVIEW
    scaling = getattr(config, "scaling_factor", None)
    if "XL" in type(pipeline).__name__ or scaling == 0.13025:
        return "sdxl"
    return "sd"


def preview_image(latents: torch.Tensor, space: str = "sd") -> Image.Image:
    """The first image of a latent batch, projected to RGB at latent resolution (1/8 size)."""
    factors, bias = (SDXL_FACTORS, SDXL_BIAS) if space == "sdxl" else (SD_FACTORS, SD_BIAS)
    latent = latents[0].detach().to(device="cpu", dtype=torch.float32)  # (4, h, w)
    rgb = torch.einsum("chw,cr->hwr", latent, factors) + bias
    pixels = ((rgb.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    return Image.fromarray(pixels, mode="RGB")


def preview_data_url(latents: torch.Tensor, space: str = "sd", quality: int = 80) -> str:
    buffer = io.BytesIO()
    preview_image(latents, space).save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
