"""Loading a model's diffusers pipeline once per process: source, device, dtype, threads."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image, DiffusionPipeline
from diffusers.utils import logging as diffusers_logging

from sdq.settings import TINY_MODEL_ID, ModelSpec, Settings
from worker.tiny_model import make_tiny

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    spec: ModelSpec
    pipeline: DiffusionPipeline
    device: str
    _image_to_image: DiffusionPipeline | None = None

    def image_to_image(self) -> DiffusionPipeline:
        """The image-to-image pipeline over the same components (no second copy of weights)."""
        if self._image_to_image is None:
            pipeline: Any = AutoPipelineForImage2Image.from_pipe(self.pipeline)
            pipeline.set_progress_bar_config(disable=True)
            self._image_to_image = pipeline
        return self._image_to_image


def resolve_source(spec: ModelSpec, settings: Settings) -> str:
    """Where the weights come from: the explicit source, the tiny model's folder, or the id."""
    if spec.source:
        return spec.source
    if spec.id == TINY_MODEL_ID:
        return str(make_tiny(settings.models_dir / "sdq-tiny"))
    return spec.id


def choose_device(preference: str) -> tuple[str, torch.dtype]:
    """CUDA with fp16 when present (or asked for), CPU with fp32 otherwise."""
    if preference == "cuda" or (preference == "auto" and torch.cuda.is_available()):
        return "cuda", torch.float16
    return "cpu", torch.float32


def load_model(spec: ModelSpec, settings: Settings) -> LoadedModel:
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    device, dtype = choose_device(settings.device)
    source = resolve_source(spec, settings)
    local = Path(source).is_dir()
    log.info("loading %s from %s on %s (%s)", spec.id, source, device, dtype)
    diffusers_logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()
    pipeline = AutoPipelineForText2Image.from_pretrained(
        source, torch_dtype=dtype, local_files_only=local
    )
    pipeline = pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    return LoadedModel(spec, pipeline, device)
