"""Cheap step previews: a fixed linear latent→RGB projection, no VAE, encoded as a small JPEG."""

from __future__ import annotations

import base64
import io
from typing import Any

import torch
from PIL import Image

# Least-squares fits of RGB on the latent channels, as published with ComfyUI's latent formats:
# 4 channels for SD 1.x and SDXL, 16 for SD 3 and FLUX (each on its own VAE's latents).
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
SD3_FACTORS = torch.tensor(
    [
        [-0.0922, -0.0175, 0.0749],
        [0.0311, 0.0633, 0.0954],
        [0.1994, 0.0927, 0.0458],
        [0.0856, 0.0339, 0.0902],
        [0.0587, 0.0272, -0.0496],
        [-0.0006, 0.1104, 0.0309],
        [0.0978, 0.0306, 0.0427],
        [-0.0042, 0.1038, 0.1358],
        [-0.0194, 0.0020, 0.0669],
        [-0.0488, 0.0130, -0.0268],
        [0.0922, 0.0988, 0.0951],
        [-0.0278, 0.0524, -0.0542],
        [0.0332, 0.0456, 0.0895],
        [-0.0069, -0.0030, -0.0810],
        [-0.0596, -0.0465, -0.0293],
        [-0.1448, -0.1463, -0.1189],
    ]
)
SD3_BIAS = torch.tensor([0.2394, 0.2135, 0.1925])
FLUX_FACTORS = torch.tensor(
    [
        [-0.0346, 0.0244, 0.0681],
        [0.0034, 0.0210, 0.0687],
        [0.0275, -0.0668, -0.0433],
        [-0.0174, 0.0160, 0.0617],
        [0.0859, 0.0721, 0.0329],
        [0.0004, 0.0383, 0.0115],
        [0.0405, 0.0861, 0.0915],
        [-0.0236, -0.0185, -0.0259],
        [-0.0245, 0.0250, 0.1180],
        [0.1008, 0.0755, -0.0421],
        [-0.0515, 0.0201, 0.0011],
        [0.0428, -0.0012, -0.0036],
        [0.0817, 0.0765, 0.0749],
        [-0.1264, -0.0522, -0.1103],
        [-0.0280, -0.0881, -0.0499],
        [-0.1262, -0.0982, -0.0778],
    ]
)
FLUX_BIAS = torch.tensor([-0.0329, -0.0718, -0.0851])

PROJECTIONS: dict[str, tuple[torch.Tensor, torch.Tensor]] = {
    "sd": (SD_FACTORS, SD_BIAS),
    "sdxl": (SDXL_FACTORS, SDXL_BIAS),
    "sd3": (SD3_FACTORS, SD3_BIAS),
    "flux": (FLUX_FACTORS, FLUX_BIAS),
}
NO_PREVIEW = "none"


def latent_space(pipeline: Any) -> str:
    """Which projection fits the pipeline's latents: `sd3` or `flux` for their 16-channel VAEs,
    `sdxl` for SDXL-family pipelines (their VAE's scaling factor), `sd` for SD 1.x/2.x, and
    `none` for latents no projection here fits (16 channels of another pipeline, other channel
    counts): those send no previews."""
    config = getattr(getattr(pipeline, "vae", None), "config", None)
    channels = getattr(config, "latent_channels", 4)
    name = type(pipeline).__name__
    if channels == 16:
        if name.startswith("Flux"):
            return "flux"
        return "sd3" if name.startswith("StableDiffusion3") else NO_PREVIEW
    if channels != 4:
        return NO_PREVIEW
    scaling = getattr(config, "scaling_factor", None)
    if "XL" in name or scaling == 0.13025:
        return "sdxl"
    return "sd"


def unpacked(packed: torch.Tensor, rows: int) -> torch.Tensor:
    """One FLUX latent from its sequence of 2x2 patches, (rows * columns, channels * 4), back to
    (channels, height, width), as diffusers' FluxPipeline packs it; the sequence does not say
    how many `rows` of patches it holds (`patch_rows` does)."""
    patches, features = packed.shape
    if rows < 1 or patches % rows:
        raise ValueError(f"{patches} patches do not make {rows} rows")
    columns, channels = patches // rows, features // 4
    grid = packed.reshape(rows, columns, channels, 2, 2).permute(2, 0, 3, 1, 4)
    return grid.reshape(channels, rows * 2, columns * 2)


def patch_rows(pipeline: Any, height: int) -> int:
    """How many rows of 2x2 latent patches a FLUX pipeline draws for an image `height` tall."""
    return height // (getattr(pipeline, "vae_scale_factor", 8) * 2)


def preview_image(latents: torch.Tensor, space: str = "sd", rows: int = 0) -> Image.Image:
    """The first image of a latent batch, projected to RGB at latent resolution (1/8 size);
    FLUX's packed patches are laid out in `rows` (`patch_rows`)."""
    factors, bias = PROJECTIONS[space]
    latent = latents[0].detach().to(device="cpu", dtype=torch.float32)
    if space == "flux" and latent.dim() == 2:
        latent = unpacked(latent, rows)
    rgb = torch.einsum("chw,cr->hwr", latent, factors) + bias
    pixels = ((rgb.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    return Image.fromarray(pixels, mode="RGB")


def preview_data_url(
    latents: torch.Tensor, space: str = "sd", rows: int = 0, quality: int = 80
) -> str:
    buffer = io.BytesIO()
    preview_image(latents, space, rows).save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
