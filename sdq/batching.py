"""Micro-batching's compatibility rule: which queued jobs may share one pipeline call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sdq.inputs import GenerationInput

# The input fields that must be equal for jobs to share a pipeline call. `image` is always None in
# a batch: image-to-image jobs run alone, and so (for now) do jobs with LoRA adapters.
BATCH_FIELDS = ("width", "height", "num_inference_steps", "scheduler", "guidance_scale", "image")
# Derived, not stored: whether the negative prompt is empty. Pipelines that zero the embedding of
# an empty negative prompt (SDXL's force_zeros_for_empty_prompt) do so only when no job of the
# call has one, so a job without one must not share a call with a job that has one.
NO_NEGATIVE = "negative_prompt_empty"
# Derived: whether the job asks for no adapter (a job that does runs alone: it is never a partner).
NO_ADAPTERS = "loras_empty"


def batch_defaults() -> dict[str, Any]:
    """Each batch field's default, for a stored input that lacks it (written by an older API)."""
    return {name: GenerationInput.model_fields[name].default for name in BATCH_FIELDS}


def batch_key(job_input: Mapping[str, Any]) -> dict[str, Any]:
    """The values a job's batch partners must share with it; equal keys may share a call."""
    defaults = batch_defaults()
    key = {name: job_input.get(name, defaults[name]) for name in BATCH_FIELDS}
    return key | {NO_NEGATIVE: not job_input.get("negative_prompt"), NO_ADAPTERS: True}


def image_count(job_input: Mapping[str, Any]) -> int:
    """The images the job asks for (`num_outputs`; 1 when an older API did not store it)."""
    return int(job_input.get("num_outputs") or 1)


def batchable(job_input: Mapping[str, Any]) -> bool:
    """Whether the job may run in a batch at all: not image-to-image, no LoRA adapters."""
    return not job_input.get("image") and not job_input.get("loras")
