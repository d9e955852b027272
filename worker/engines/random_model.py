"""Random-weight checkpoints of the published SD 1.5 and SDXL architectures, saved like the real
ones: the same compute as the real models (for GPU benchmarks) with nothing downloaded."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    EulerDiscreteScheduler,
    PNDMScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
)

from worker.engines.published_configs import (
    CLIP_MAX_TOKENS,
    SD15_SCHEDULER,
    SDXL_SCHEDULER,
    family_configs,
)
from worker.engines.tiny_model import save_pipeline, write_tokenizer_files

SPECIAL_TOKENS = ("<|startoftext|>", "<|endoftext|>")


def write_clip_tokenizer_files(folder: Path, vocab_size: int) -> None:
    """tiny_model's byte-level vocabulary, padded with unused entries to `vocab_size` so the
    special tokens get CLIP's own ids (the last two) and every id fits the text encoder."""
    write_tokenizer_files(folder)
    vocab: dict[str, int] = json.loads((folder / "vocab.json").read_text())
    tokens = [
        token for token in sorted(vocab, key=vocab.__getitem__) if token not in SPECIAL_TOKENS
    ]
    if len(tokens) + len(SPECIAL_TOKENS) > vocab_size:
        raise ValueError(f"vocab_size {vocab_size} is below the byte alphabet's {len(vocab)}")
    tokens += [f"<|unused{i}|>" for i in range(vocab_size - len(tokens) - len(SPECIAL_TOKENS))]
    tokens += SPECIAL_TOKENS
    (folder / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(tokens)}))


def clip_tokenizer(vocab_size: int, pad_token: str | None = None) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        write_clip_tokenizer_files(Path(tmp), vocab_size)
        extra: dict[str, Any] = {"pad_token": pad_token} if pad_token else {}
        return CLIPTokenizer.from_pretrained(tmp, model_max_length=CLIP_MAX_TOKENS, **extra)


def build_components(family: str) -> dict[str, Any]:
    """The family's networks with random weights, built in torch's current default dtype and
    device (`with torch.device("meta")` builds them without allocating)."""
    configs = family_configs(family)
    parts: dict[str, Any] = {
        "unet": UNet2DConditionModel(**configs["unet"]),
        "vae": AutoencoderKL(**configs["vae"]),
        "text_encoder": CLIPTextModel(CLIPTextConfig(**configs["text_encoder"])),
    }
    if "text_encoder_2" in configs:
        parts["text_encoder_2"] = CLIPTextModelWithProjection(
            CLIPTextConfig(**configs["text_encoder_2"])
        )
    return parts


def build_random_pipeline(
    family: str, dtype: torch.dtype = torch.float16, device: str = "cpu", seed: int = 0
) -> StableDiffusionPipeline | StableDiffusionXLPipeline:
    """The whole pipeline of `family` with random weights, built directly in `dtype` on `device`
    (a GPU builds SDXL's 3.5 B parameters in seconds; a CPU in minutes)."""
    torch.manual_seed(seed)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            parts = build_components(family)
    finally:
        torch.set_default_dtype(previous)
    vocab_size = parts["text_encoder"].config.vocab_size
    if "text_encoder_2" in parts:
        return StableDiffusionXLPipeline(
            **parts,
            tokenizer=clip_tokenizer(vocab_size),
            tokenizer_2=clip_tokenizer(vocab_size, pad_token="!"),
            scheduler=EulerDiscreteScheduler.from_config(SDXL_SCHEDULER),
        )
    return StableDiffusionPipeline(
        **parts,
        tokenizer=clip_tokenizer(vocab_size),
        scheduler=PNDMScheduler.from_config(SD15_SCHEDULER),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def make_random(
    family: str, folder: Path, dtype: torch.dtype = torch.float16, device: str = "cpu"
) -> Path:
    """Write `family`'s random-weight pipeline to `folder` with `save_pretrained` (atomically:
    a temporary folder beside it, renamed); a folder that already holds one is kept."""
    return save_pipeline(folder, lambda: build_random_pipeline(family, dtype, device), ".random-")
