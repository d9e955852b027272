"""From a model's runtime settings and the worker's device to the steps that set its pipeline up:
a pure function (no torch), so every combination is a row of a table test."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sdq.model_runtime import ModelRuntime

Device = Literal["cpu", "cuda"]
Precision = Literal["fp16", "bf16", "fp32"]
StepKind = Literal[
    "to_device",
    "offload_model",
    "offload_sequential",
    "attention_eager",
    "channels_last",
    "vae_tiling",
    "vae_slicing",
    "compile",
]
# Parts of a pipeline a step acts on: "denoiser" is its UNet, or its transformer (DiT families).
Target = Literal["pipeline", "denoiser", "vae"]

WARMUP_STEPS = 2  # enough for compiled code to run once through every branch of a step


@dataclass(frozen=True)
class Step:
    """One change to the loaded pipeline, applied in order."""

    kind: StepKind
    target: Target = "pipeline"


@dataclass(frozen=True)
class RuntimePlan:
    """What loading does: the precision to load in, the steps after, and the warm-up."""

    dtype: Precision
    steps: tuple[Step, ...]
    warmup_steps: int
    warmup_size: int | None  # None: the model's default size
    compile_mode: str
    notes: tuple[str, ...] = field(default=())  # said once in the load log line

    def describe(self) -> str:
        """One line for the log: `fp16, sdpa, compile denoiser (…), warm-up 2 steps`."""
        parts = [self.dtype] + [_STEP_TEXT[step.kind].format(step.target) for step in self.steps]
        if any(step.kind == "compile" for step in self.steps):
            parts.append(f"compile mode {self.compile_mode}")
        parts.append(f"warm-up {self.warmup_steps} steps" if self.warmup_steps else "no warm-up")
        return ", ".join(part for part in parts if part)


_STEP_TEXT: dict[StepKind, str] = {
    "to_device": "",
    "offload_model": "model CPU offload",
    "offload_sequential": "sequential CPU offload",
    "attention_eager": "eager attention",
    "channels_last": "channels-last {}",
    "vae_tiling": "VAE tiling",
    "vae_slicing": "VAE slicing",
    "compile": "compile {}",
}


def _precision(runtime: ModelRuntime, device: Device) -> tuple[Precision, tuple[str, ...]]:
    if runtime.dtype == "auto":
        return ("fp16" if device == "cuda" else "fp32"), ()
    if device == "cpu" and runtime.dtype != "fp32":
        note = f"dtype {runtime.dtype} runs as fp32 on CPU (half precision is slower there)"
        return "fp32", (note,)
    return runtime.dtype, ()


def plan_runtime(runtime: ModelRuntime, device: Device) -> RuntimePlan:
    """The load plan of `runtime` on `device`; settings that do not apply there become notes."""
    dtype, notes = _precision(runtime, device)
    steps: list[Step] = []
    if runtime.cpu_offload != "off" and device == "cpu":
        notes += (f"cpu_offload {runtime.cpu_offload} ignored on CPU",)
    if runtime.cpu_offload == "model" and device == "cuda":
        steps.append(Step("offload_model"))
    elif runtime.cpu_offload == "sequential" and device == "cuda":
        steps.append(Step("offload_sequential"))
    else:
        steps.append(Step("to_device"))
    if runtime.attention == "eager":
        steps += [Step("attention_eager", "denoiser"), Step("attention_eager", "vae")]
    if runtime.channels_last:
        steps += [Step("channels_last", "denoiser"), Step("channels_last", "vae")]
    if runtime.vae_tiling:
        steps.append(Step("vae_tiling", "vae"))
    if runtime.vae_slicing:
        steps.append(Step("vae_slicing", "vae"))
    if runtime.compile != "off":
        steps.append(Step("compile", "denoiser"))
    if runtime.compile == "denoiser+vae":
        steps.append(Step("compile", "vae"))
    compile_mode: str = runtime.compile_mode
    if runtime.compile != "off" and device == "cpu" and compile_mode != "default":
        notes += (f"compile_mode {compile_mode} is for GPUs: compiling in mode default",)
        compile_mode = "default"
    if runtime.warmup_steps is not None:
        warmup = runtime.warmup_steps
    else:
        warmup = WARMUP_STEPS if runtime.compile != "off" or device == "cuda" else 0
    return RuntimePlan(
        dtype=dtype,
        steps=tuple(steps),
        warmup_steps=warmup,
        warmup_size=runtime.warmup_size,
        compile_mode=compile_mode,
        notes=notes,
    )
