"""Tiny random-weight pipelines of each family (SD 1.5, SDXL, SD 3, FLUX.1) saved like real ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    DiffusionPipeline,
    EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    FluxPipeline,
    FluxTransformer2DModel,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
from tokenizers.models import Unigram
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    T5Config,
    T5EncoderModel,
    T5TokenizerFast,
)

from sdq.families import FAMILY_NAMES, traits
from worker.engines.published_configs import CLIP_MAX_TOKENS, SDXL_SCHEDULER
from worker.engines.random_model import clip_tokenizer
from worker.engines.tiny_model import (
    TINY_UNET_BLOCKS,
    build_tiny_pipeline,
    make_tiny,
    save_pipeline,
)

FAMILIES = FAMILY_NAMES

TEXT_DIM = 32  # each CLIP text encoder's hidden size and projection
T5_DIM = 64  # SD 3 pads both CLIPs' hidden states side by side (2 x 32) to T5's width
CLIP_VOCAB = 514  # tiny_model's byte-level alphabet, twice (plain and end-of-word), and 2 specials
T5_MAX_TOKENS = 512
T5_SPECIALS = ("<pad>", "</s>", "<unk>")  # T5's ids 0, 1 and 2

# The published VAEs' latent statistics (vae/config.json of each).
SDXL_VAE_SCALING = 0.13025
SD3_VAE_FACTORS = {"shift_factor": 0.0609, "scaling_factor": 1.5305}
FLUX_VAE_FACTORS = {"shift_factor": 0.1159, "scaling_factor": 0.3611}

# stabilityai/stable-diffusion-3-medium-diffusers and black-forest-labs/FLUX.1-dev
# scheduler/scheduler_config.json (FlowMatchEulerDiscreteScheduler).
SD3_SCHEDULER: dict[str, Any] = {"num_train_timesteps": 1000, "shift": 3.0}
FLUX_SCHEDULER: dict[str, Any] = {
    "base_image_seq_len": 256,
    "base_shift": 0.5,
    "max_image_seq_len": 4096,
    "max_shift": 1.15,
    "num_train_timesteps": 1000,
    "shift": 3.0,
    "use_dynamic_shifting": True,
}


def _clip_text(projection: bool, hidden_act: str = "quick_gelu") -> Any:
    """A 2-layer CLIP text tower (SD 3 and SDXL read the penultimate layer's hidden states)."""
    config = CLIPTextConfig(
        vocab_size=CLIP_VOCAB,
        hidden_size=TEXT_DIM,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=CLIP_MAX_TOKENS,
        hidden_act=hidden_act,
        projection_dim=TEXT_DIM,
        bos_token_id=CLIP_VOCAB - 2,
        eos_token_id=CLIP_VOCAB - 1,
        pad_token_id=CLIP_VOCAB - 1,
    )
    return CLIPTextModelWithProjection(config) if projection else CLIPTextModel(config)


def t5_tokenizer() -> Any:
    """A T5 tokenizer built offline: T5's own pipeline (Metaspace, Unigram, `</s>` appended) over
    single characters, so every Latin-1 text tokenizes (anything else is `<unk>`). transformers 5
    rebuilds a T5 tokenizer from the Unigram vocabulary in tokenizer.json (with this very
    pipeline), so it round-trips without sentencepiece."""
    chars = [chr(c) for c in (*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("ÿ") + 1))]
    pieces = [*T5_SPECIALS, "▁", *chars, *("▁" + c for c in chars)]
    vocab = [(piece, 0.0 if piece in T5_SPECIALS else -1.0) for piece in pieces]
    backend = Tokenizer(Unigram(vocab, unk_id=T5_SPECIALS.index("<unk>"), byte_fallback=False))
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
        ]
    )
    backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    backend.post_processor = processors.TemplateProcessing(
        single=["$A", "</s>"], pair=["$A", "</s>", "$B", "</s>"], special_tokens=[("</s>", 1)]
    )
    return T5TokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        extra_ids=0,
        model_max_length=T5_MAX_TOKENS,
    )


def _t5_encoder(vocab_size: int) -> Any:
    """T5 v1.1's encoder (gated GELU), 2 layers of width 64."""
    return T5EncoderModel(
        T5Config(
            vocab_size=vocab_size,
            d_model=T5_DIM,
            d_kv=16,
            d_ff=64,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            relative_attention_max_distance=32,
            feed_forward_proj="gated-gelu",
            pad_token_id=0,
            eos_token_id=1,
        )
    )


def _vae(latent_channels: int, **config: Any) -> Any:
    """tiny_model's VAE: four blocks (latents 1/8 of the image), 8 to 16 channels."""
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 16, 16),
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=4,
        sample_size=1024,
        **config,
    )


def _flow_vae(factors: dict[str, float]) -> Any:
    """SD 3's and FLUX's VAE: 16 latent channels, no quant convs, the family's shift and scale."""
    return _vae(16, use_quant_conv=False, use_post_quant_conv=False, **factors)


def build_sdxl(seed: int = 0) -> StableDiffusionXLPipeline:
    """SDXL: a text-time UNet, an 8x VAE, CLIP-L and CLIP-bigG stand-ins, Euler."""
    torch.manual_seed(seed)
    text_time_dim = 8
    unet = UNet2DConditionModel(
        sample_size=128,  # SDXL's: 1024-pixel images by default
        # SDXL has no attention at full latent size; this one, as tiny_model's, only at 1/4 of
        # it, where it costs little on CPU at SDXL's default 1024 pixels.
        **TINY_UNET_BLOCKS,
        cross_attention_dim=2 * TEXT_DIM,  # both text encoders' hidden states side by side
        attention_head_dim=(2, 2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=text_time_dim,
        # 6 size and crop numbers, each embedded, and text_encoder_2's pooled projection
        projection_class_embeddings_input_dim=6 * text_time_dim + TEXT_DIM,
    )
    return StableDiffusionXLPipeline(
        vae=_vae(4, scaling_factor=SDXL_VAE_SCALING),
        text_encoder=_clip_text(projection=False),
        text_encoder_2=_clip_text(projection=True, hidden_act="gelu"),
        tokenizer=clip_tokenizer(CLIP_VOCAB),
        tokenizer_2=clip_tokenizer(CLIP_VOCAB, pad_token="!"),
        unet=unet,
        scheduler=EulerDiscreteScheduler.from_config(SDXL_SCHEDULER),
    )


def build_sd3(seed: int = 0) -> StableDiffusion3Pipeline:
    """SD 3: an MMDiT, a 16-channel VAE, two projecting CLIPs and a T5 encoder, flow matching."""
    torch.manual_seed(seed)
    transformer = SD3Transformer2DModel(
        sample_size=128,  # SD 3's: 1024-pixel images by default
        patch_size=2,
        in_channels=16,
        out_channels=16,
        num_layers=2,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=T5_DIM,
        caption_projection_dim=2 * 16,  # the transformer's width: heads x head size
        pooled_projection_dim=2 * TEXT_DIM,  # both CLIPs' pooled projections side by side
        pos_embed_max_size=96,  # up to 1536 pixels a side
    )
    t5_tok = t5_tokenizer()
    return StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler.from_config(SD3_SCHEDULER),
        vae=_flow_vae(SD3_VAE_FACTORS),
        text_encoder=_clip_text(projection=True),
        tokenizer=clip_tokenizer(CLIP_VOCAB),
        text_encoder_2=_clip_text(projection=True, hidden_act="gelu"),
        tokenizer_2=clip_tokenizer(CLIP_VOCAB, pad_token="!"),
        text_encoder_3=_t5_encoder(len(t5_tok)),
        tokenizer_3=t5_tok,
    )


def build_flux(seed: int = 0) -> FluxPipeline:
    """FLUX.1-dev: a guidance-distilled MMDiT, a 16-channel VAE, CLIP and T5, flow matching."""
    torch.manual_seed(seed)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=16 * 4,  # the VAE's 16 channels, packed in 2x2 patches
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=T5_DIM,
        pooled_projection_dim=TEXT_DIM,  # CLIP's pooled output
        guidance_embeds=True,  # FLUX.1-dev's distilled guidance
        axes_dims_rope=(4, 6, 6),  # sums to the head size, as FLUX's (16, 56, 56) to 128
    )
    t5_tok = t5_tokenizer()
    return FluxPipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler.from_config(FLUX_SCHEDULER),
        vae=_flow_vae(FLUX_VAE_FACTORS),
        text_encoder=_clip_text(projection=False),
        tokenizer=clip_tokenizer(CLIP_VOCAB),
        text_encoder_2=_t5_encoder(len(t5_tok)),
        tokenizer_2=t5_tok,
    )


def build_tiny_family(family: str, seed: int = 0) -> DiffusionPipeline:
    """Random weights, real architecture classes: a pipeline of `family` a few MB in size."""
    # Any: to mypy, diffusers' pipeline classes are its dummy objects, no DiffusionPipeline's.
    builders: dict[str, Callable[[int], Any]] = {
        "sd15": build_tiny_pipeline,
        "sdxl": build_sdxl,
        "sd3": build_sd3,
        "flux": build_flux,
    }
    if family not in builders:
        raise ValueError(f"unknown family {family!r} ({', '.join(FAMILIES)})")
    pipeline: DiffusionPipeline = builders[family](seed)
    return pipeline


def make_tiny_family(family: str, folder: Path, seed: int = 0) -> Path:
    """Write `family`'s tiny pipeline to `folder` with `save_pretrained` (atomically: a temporary
    folder beside it, renamed); a folder that already holds one of that family is kept, one that
    holds another pipeline is refused (ValueError)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r} ({', '.join(FAMILIES)})")
    folder = folder.resolve()
    index = folder / "model_index.json"
    if index.is_file():
        found = json.loads(index.read_text()).get("_class_name")
        if found != traits(family).pipeline:
            raise ValueError(f"{folder} already holds another pipeline ({found}); choose another")
        return folder
    if family == "sd15":
        return make_tiny(folder, seed)
    return save_pipeline(folder, lambda: build_tiny_family(family, seed), f".tiny-{family}-")
