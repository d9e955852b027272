"""A random LoRA adapter for a pipeline folder (the tiny models in tests and demos): low-rank
updates of the denoiser's attention projections (the UNet of SD 1.x and SDXL, the transformer
of SD 3 and FLUX), saved as diffusers saves LoRA weights."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from diffusers import AutoPipelineForText2Image
from diffusers.utils import convert_state_dict_to_diffusers
from peft import LoraConfig, get_peft_model_state_dict

from worker.engines.tiny_model import hide_progress_bars

RANK = 4
# Large enough that a scale of 1 visibly changes the tiny model's images.
WEIGHT_STD = 0.5


def make_tiny_lora(base: Path, out: Path, seed: int = 0) -> Path:
    """Write a random LoRA for the pipeline in `base` to `out` (a `.safetensors` file, written
    atomically); the same seed writes the same adapter."""
    if out.suffix != ".safetensors":
        raise ValueError(f"{out} must end in .safetensors (the adapter's name is the file's)")
    hide_progress_bars()  # a few MB: no bars for loads done in an instant
    pipeline = AutoPipelineForText2Image.from_pretrained(base, local_files_only=True)
    parts = [part for part in ("unet", "transformer") if getattr(pipeline, part, None) is not None]
    if not parts:
        raise ValueError(f"{base} holds a pipeline with neither a UNet nor a transformer")
    part = parts[0]
    denoiser = getattr(pipeline, part)
    denoiser.add_adapter(
        LoraConfig(r=RANK, lora_alpha=RANK, target_modules=["to_q", "to_k", "to_v", "to_out.0"])
    )
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in denoiser.named_parameters():
            if "lora_" in name:
                noise = torch.randn(parameter.shape, generator=generator) * WEIGHT_STD
                parameter.copy_(noise.to(parameter.dtype))
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(denoiser))
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".lora-") as staging:
        type(pipeline).save_lora_weights(
            staging,
            weight_name=out.name,
            safe_serialization=True,
            **{f"{part}_lora_layers": layers},
        )
        written = Path(staging) / out.name
        written.chmod(0o644)  # read by the model's workers, listed by the API
        written.replace(out)
    return out
