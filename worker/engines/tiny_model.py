"""A tiny random-weight Stable Diffusion pipeline, saved like a real one: offline demos, tests."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import transformers
from diffusers import (
    AutoencoderKL,
    EulerAncestralDiscreteScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from diffusers.utils import logging as diffusers_logging
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

TEXT_DIM = 32
MAX_TOKENS = 77
# The tiny UNets' blocks (tiny_families' SDXL one too): attention only at 1/4 of the latent size,
# where it costs little on CPU (most of a UNet's cost is attention at full size).
TINY_UNET_BLOCKS: dict[str, Any] = {
    "in_channels": 4,
    "out_channels": 4,
    "layers_per_block": 1,
    "block_out_channels": (32, 32, 64),
    "down_block_types": ("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
    "norm_num_groups": 8,
}


def _byte_level_alphabet() -> list[str]:
    """GPT-2/CLIP's printable stand-ins for the 256 byte values."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def write_tokenizer_files(folder: Path) -> int:
    """A CLIP BPE vocabulary of single bytes (no merges): every text tokenizes, one byte a token."""
    alphabet = _byte_level_alphabet()
    vocab = alphabet + [c + "</w>" for c in alphabet] + ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({tok: i for i, tok in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return len(vocab)


def build_tiny_pipeline(seed: int = 0) -> StableDiffusionPipeline:
    """Random weights, real architecture: UNet, 8x-downsampling VAE, CLIP text encoder."""
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=64, cross_attention_dim=TEXT_DIM, attention_head_dim=8, **TINY_UNET_BLOCKS
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 16, 16),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=512,
    )
    with tempfile.TemporaryDirectory() as tmp:
        vocab_size = write_tokenizer_files(Path(tmp))
        tokenizer = CLIPTokenizer.from_pretrained(tmp, model_max_length=MAX_TOKENS)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=vocab_size,
            hidden_size=TEXT_DIM,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=MAX_TOKENS,
            bos_token_id=vocab_size - 2,
            eos_token_id=vocab_size - 1,
            pad_token_id=vocab_size - 1,
        )
    )
    scheduler = EulerAncestralDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000
    )
    return StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def hide_progress_bars() -> None:
    """No progress bars from diffusers' and transformers' loads and saves in this process (a
    log is no place for them)."""
    diffusers_logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()


def make_tiny(folder: Path, seed: int = 0) -> Path:
    """Write the tiny pipeline to `folder` (`save_pipeline`: atomically, kept when there)."""
    return save_pipeline(folder, lambda: build_tiny_pipeline(seed), ".tiny-")


def save_pipeline(folder: Path, build: Callable[[], Any], prefix: str) -> Path:
    """Write the pipeline `build` makes to `folder` with `save_pretrained`, atomically (a
    temporary folder beside it, renamed); a folder that already holds a pipeline is kept, and so
    is one another process finished first."""
    folder = folder.resolve()
    if (folder / "model_index.json").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    hide_progress_bars()  # a few MB: no bars for shards written in an instant
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=prefix) as tmp:
        build().save_pretrained(tmp, safe_serialization=True)  # the pipeline freed after it
        staged = Path(tmp)
        try:
            staged.rename(folder)
        except OSError:
            if not (folder / "model_index.json").is_file():
                raise
        staged.mkdir(exist_ok=True)  # TemporaryDirectory cleans up whatever is left
    return folder
