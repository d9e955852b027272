"""The published architecture configs of Stable Diffusion 1.5 and SDXL base 1.0 (their UNet, VAE,
text encoders and scheduler config.json files, as literals: nothing is fetched), and scaled-down
"mini" variants of the same shapes for tests."""

from __future__ import annotations

from typing import Any

Config = dict[str, Any]

CLIP_VOCAB = 49408  # CLIP's BPE vocabulary; <|startoftext|> is 49406, <|endoftext|> 49407
CLIP_MAX_TOKENS = 77

# runwayml/stable-diffusion-v1-5 unet/config.json (859,520,964 parameters)
SD15_UNET: Config = {
    "act_fn": "silu",
    "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 768,
    "down_block_types": [
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "DownBlock2D",
    ],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "out_channels": 4,
    "sample_size": 64,
    "up_block_types": [
        "UpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
    ],
}

# vae/config.json of both (83,653,863 parameters); SDXL's differs in sample size and scaling.
SD15_VAE: Config = {
    "act_fn": "silu",
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "in_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "out_channels": 3,
    "sample_size": 512,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
}
SDXL_VAE: Config = SD15_VAE | {"sample_size": 1024, "scaling_factor": 0.13025}

# openai/clip-vit-large-patch14's text tower: SD 1.5's text encoder and SDXL's first
# (123,060,480 parameters). Token ids as CLIP's tokenizer numbers them.
CLIP_L_TEXT: Config = {
    "vocab_size": CLIP_VOCAB,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "max_position_embeddings": CLIP_MAX_TOKENS,
    "hidden_act": "quick_gelu",
    "projection_dim": 768,
    "bos_token_id": CLIP_VOCAB - 2,
    "eos_token_id": CLIP_VOCAB - 1,
    "pad_token_id": CLIP_VOCAB - 1,
}

# OpenCLIP ViT-bigG/14's text tower with its projection: SDXL's text_encoder_2
# (694,659,840 parameters).
CLIP_BIGG_TEXT: Config = CLIP_L_TEXT | {
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_hidden_layers": 32,
    "num_attention_heads": 20,
    "hidden_act": "gelu",
    "projection_dim": 1280,
}

# stabilityai/stable-diffusion-xl-base-1.0 unet/config.json (2,567,463,684 parameters)
SDXL_UNET: Config = {
    "act_fn": "silu",
    "addition_embed_type": "text_time",
    "addition_embed_type_num_heads": 64,
    "addition_time_embed_dim": 256,
    "attention_head_dim": [5, 10, 20],
    "block_out_channels": [320, 640, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 2048,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "out_channels": 4,
    "projection_class_embeddings_input_dim": 2816,
    "sample_size": 128,
    "transformer_layers_per_block": [1, 2, 10],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "use_linear_projection": True,
}

SD15_SCHEDULER: Config = {  # PNDMScheduler
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
}
SDXL_SCHEDULER: Config = {  # EulerDiscreteScheduler
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "interpolation_type": "linear",
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "use_karras_sigmas": False,
}

# The same shapes, a few thousand times smaller: what the suite builds and runs.
_MINI_UNET: Config = {
    "block_out_channels": [32, 64],
    "attention_head_dim": 2,
    "layers_per_block": 1,
    "norm_num_groups": 8,
    "sample_size": 8,
}
_MINI_TEXT: Config = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "projection_dim": 32,
}
_MINI_VAE: Config = {
    "block_out_channels": [8, 8, 16, 16],  # four blocks: latents 1/8 of the image, as SD's
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "sample_size": 64,
}
SD15_MINI_UNET: Config = (
    SD15_UNET
    | _MINI_UNET
    | {
        "cross_attention_dim": 32,
        "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
    }
)
SDXL_MINI_UNET: Config = (
    SDXL_UNET
    | _MINI_UNET
    | {
        "attention_head_dim": [2, 4],
        "addition_time_embed_dim": 8,
        "projection_class_embeddings_input_dim": 6 * 8 + 32,  # 6 size/crop numbers + pooled text
        "cross_attention_dim": 64,  # both text encoders' hidden states side by side
        "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
        "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
        "transformer_layers_per_block": [1, 2],
    }
)


def family_configs(family: str) -> dict[str, Config]:
    """The component configs of a family: sd15, sdxl, sd15-mini or sdxl-mini."""
    if family == "sd15":
        return {"unet": SD15_UNET, "vae": SD15_VAE, "text_encoder": CLIP_L_TEXT}
    if family == "sdxl":
        return {
            "unet": SDXL_UNET,
            "vae": SDXL_VAE,
            "text_encoder": CLIP_L_TEXT,
            "text_encoder_2": CLIP_BIGG_TEXT,
        }
    if family == "sd15-mini":
        return {
            "unet": SD15_MINI_UNET,
            "vae": SD15_VAE | _MINI_VAE,
            "text_encoder": CLIP_L_TEXT | _MINI_TEXT,
        }
    if family == "sdxl-mini":
        return {
            "unet": SDXL_MINI_UNET,
            "vae": SDXL_VAE | _MINI_VAE,
            "text_encoder": CLIP_L_TEXT | _MINI_TEXT,
            "text_encoder_2": CLIP_BIGG_TEXT | _MINI_TEXT,
        }
    raise ValueError(f"unknown family {family!r} (sd15, sdxl, sd15-mini, sdxl-mini)")


FAMILIES = ("sd15", "sdxl", "sd15-mini", "sdxl-mini")
