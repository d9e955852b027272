"""Carry out a runtime plan's steps on a loaded diffusers pipeline (the thin, torch side)."""

from __future__ import annotations

import importlib.util
from typing import Any

import torch

from worker.engines.runtime_plan import Precision, Step

DTYPES: dict[Precision, torch.dtype] = {
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
    "fp32": torch.float32,
}


class RuntimeSetupError(RuntimeError):
    """A plan step cannot be carried out here (a missing package, a pipeline without the part)."""


def denoiser_name(pipeline: Any) -> str:
    """`transformer` for DiT families (SD3, Flux, PixArt), else `unet`."""
    return "transformer" if getattr(pipeline, "transformer", None) is not None else "unet"


def _part(pipeline: Any, target: str) -> Any:
    name = denoiser_name(pipeline) if target == "denoiser" else target
    part = getattr(pipeline, name, None)
    if part is None:
        raise RuntimeSetupError(f"the pipeline has no {name} to set up")
    return part


def _offload(pipeline: Any, device: str, sequential: bool) -> None:
    if importlib.util.find_spec("accelerate") is None:
        raise RuntimeSetupError("cpu_offload needs the accelerate package (pip install accelerate)")
    if sequential:
        pipeline.enable_sequential_cpu_offload(device=device)
    else:
        pipeline.enable_model_cpu_offload(device=device)


def apply_step(pipeline: Any, step: Step, device: str, compile_mode: str) -> None:
    """One step; the pipeline is changed in place."""
    if step.kind == "to_device":
        pipeline.to(device)
    elif step.kind in ("offload_model", "offload_sequential"):
        _offload(pipeline, device, sequential=step.kind == "offload_sequential")
    elif step.kind == "attention_eager":
        part = _part(pipeline, step.target)
        if hasattr(part, "set_default_attn_processor"):
            part.set_default_attn_processor()
    elif step.kind == "channels_last":
        _part(pipeline, step.target).to(memory_format=torch.channels_last)
    elif step.kind == "vae_tiling":
        _part(pipeline, "vae").enable_tiling()
    elif step.kind == "vae_slicing":
        _part(pipeline, "vae").enable_slicing()
    elif step.kind == "compile":
        part = _part(pipeline, step.target)
        if step.target == "vae":  # pipelines call vae.decode, not forward
            part.decode = torch.compile(part.decode, mode=compile_mode)
        else:  # in place: the module keeps its type and config, as diffusers expects
            part.compile(mode=compile_mode)
    else:  # pragma: no cover - the Literal covers every kind
        raise RuntimeSetupError(f"unknown step {step.kind}")


def apply_steps(pipeline: Any, steps: tuple[Step, ...], device: str, compile_mode: str) -> None:
    for step in steps:
        apply_step(pipeline, step, device, compile_mode)
