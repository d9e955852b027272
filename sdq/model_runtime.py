"""How a worker runs one model on its device: precision, attention, compilation, VAE, offload."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Dtype = Literal["auto", "fp16", "bf16", "fp32"]
Attention = Literal["sdpa", "eager"]
Compile = Literal["off", "denoiser", "denoiser+vae"]
CompileMode = Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"]
CpuOffload = Literal["off", "model", "sequential"]


class ModelRuntime(BaseModel):
    """The `runtime` object of a model's entry; docs/gpu.md says when to use each knob."""

    model_config = ConfigDict(extra="forbid")

    dtype: Dtype = Field(
        default="auto",
        description="Weights and activations: `auto` is fp16 on CUDA and fp32 on CPU; `bf16` "
        "for models whose VAE overflows in fp16 (SDXL's original VAE) on Ampere or newer; "
        "`fp16` or `bf16` on a CPU worker run as fp32 (said in the log)",
    )
    attention: Attention = Field(
        default="sdpa",
        description="`sdpa`: PyTorch's fused scaled-dot-product attention (flash or "
        "memory-efficient kernels; diffusers' default); `eager`: the plain matmul-softmax "
        "processor, only to compare outputs or work around a kernel bug",
    )
    channels_last: bool = Field(
        default=False,
        description="Convolution weights in NHWC layout: a few percent faster UNets and VAEs on "
        "tensor-core GPUs; no use on CPU nor for transformer denoisers",
    )
    compile: Compile = Field(
        default="off",
        description="torch.compile the denoiser (the UNet, or the transformer of DiT families) "
        "and optionally the VAE decoder; compiled once at start-up by the warm-up, so the "
        "worker reports ready later and every job after runs faster. Each new image size or "
        "batch size compiles again on its first job",
    )
    compile_mode: CompileMode = Field(
        default="default",
        description="torch.compile's mode: `default` compiles in about a minute and gives most "
        "of the gain; `max-autotune-no-cudagraphs` also benchmarks kernel choices (minutes "
        "more at start-up); `max-autotune` adds CUDA graphs (fastest steps, memory held per "
        "image and batch size); `reduce-overhead` CUDA graphs only. GPU modes compile as "
        "`default` on CPU",
    )
    vae_tiling: bool = Field(
        default=False,
        description="Decode the latents in overlapping tiles: images above about 1536² fit in "
        "far less memory, at some speed and faint seams",
    )
    vae_slicing: bool = Field(
        default=False,
        description="Decode a batch one image at a time: lower peak memory for many outputs "
        "per job",
    )
    cpu_offload: CpuOffload = Field(
        default="off",
        description="For cards too small for the model: `model` keeps each component in CPU "
        "memory and moves it to the GPU while it runs (a little slower); `sequential` moves "
        "layer by layer (fits in about 3 GB, several times slower). Ignored on a CPU worker",
    )
    warmup_steps: int | None = Field(
        default=None,
        ge=0,
        le=50,
        description="Steps of the warm-up generation run before the worker reports ready; "
        "unset: 2 when compiling or on CUDA, none on CPU; 0: none (not allowed with compile)",
    )
    warmup_size: int | None = Field(
        default=None,
        ge=64,
        le=4096,
        multiple_of=8,
        description="Width and height of the warm-up image; unset: the model's default size "
        "(compiled code is specialised to it: warm up at the size jobs use most)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ModelRuntime:
        if self.compile != "off" and self.warmup_steps == 0:
            raise ValueError(
                "compile needs a warm-up: warmup_steps 0 would leave the first "
                "job to pay for compilation"
            )
        if self.compile != "off" and self.cpu_offload == "sequential":
            raise ValueError(
                "compile does not combine with cpu_offload sequential "
                "(its hooks move weights inside every layer); use model offload"
            )
        return self
