"""The diffusers engine: load a model's pipeline once (source, device, dtype, threads), pick the
sampler per job, generate with seeds per image, stop between steps, and preview latents."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diffusers
import torch
import transformers
from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image, DiffusionPipeline
from diffusers.utils import logging as diffusers_logging
from PIL.Image import Image

from sdq.inputs import GenerationInput
from sdq.schedulers import find_scheduler
from sdq.settings import TINY_MODEL_ID, ModelSpec, Settings
from worker.engines.base import GenerationCanceled, StepCallback
from worker.engines.load_errors import ModelLoadError, local_folder_problem
from worker.engines.previews import latent_space, preview_data_url
from worker.engines.tiny_model import make_tiny

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
    # Before the tiny model is written too: its shards' progress bars are no use in a log.
    diffusers_logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()
    source = resolve_source(spec, settings)
    problem = local_folder_problem(source)
    if problem is not None:
        raise ModelLoadError(problem)
    local = Path(source).is_dir()
    log.info("loading %s from %s on %s (%s)", spec.id, source, device, dtype)
    pipeline = AutoPipelineForText2Image.from_pretrained(
        source, torch_dtype=dtype, local_files_only=local
    )
    pipeline = pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    return LoadedModel(spec, pipeline, device)


class SchedulerCache:
    """One scheduler instance per sampler name, all built from the model's own scheduler config."""

    def __init__(self, base: Any) -> None:
        self._config = base.config
        self._built: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        if name not in self._built:
            choice = find_scheduler(name)
            if choice is None:
                raise ValueError(f"unknown scheduler {name!r}")
            cls = getattr(diffusers, choice.class_name)
            self._built[name] = cls.from_config(self._config, **choice.config)
        return self._built[name]


def generators(seed: int, count: int) -> list[torch.Generator]:
    """One CPU generator per image, seeded seed, seed+1, ...: the same on every device."""
    return [torch.Generator(device="cpu").manual_seed(seed + i) for i in range(count)]


def generate(
    model: LoadedModel,
    schedulers: SchedulerCache,
    request: GenerationInput,
    on_step: StepCallback,
    init_image: Image | None = None,
) -> list[Image]:
    """Generate `num_outputs` images, from noise or (image-to-image) from `init_image` at
    `prompt_strength`; raises GenerationCanceled when `on_step` says stop."""
    if init_image is not None and request.prompt_strength == 0:
        return [init_image.copy() for _ in range(request.num_outputs)]  # nothing to denoise
    pipe = model.pipeline if init_image is None else model.image_to_image()
    pipe.scheduler = schedulers.get(request.scheduler)
    extra: dict[str, Any] = {}
    if init_image is not None:
        extra = {"image": init_image, "strength": request.prompt_strength}
    else:
        extra = {"width": request.width, "height": request.height}

    def on_step_end(
        pipeline: Any, step: int, _timestep: Any, callback_kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        # Some samplers (Heun) run more timesteps than num_inference_steps: count timesteps.
        total = getattr(pipeline, "num_timesteps", None) or request.num_inference_steps
        if on_step(step + 1, total, callback_kwargs["latents"]):
            raise GenerationCanceled()
        return callback_kwargs

    assert request.seed is not None, "the API fixes the seed before enqueue"
    with torch.inference_mode():
        result = pipe(
            prompt=request.prompt,
            negative_prompt=request.negative_prompt or None,
            num_inference_steps=request.num_inference_steps,
            guidance_scale=request.guidance_scale,
            num_images_per_prompt=request.num_outputs,
            generator=generators(request.seed, request.num_outputs),
            callback_on_step_end=on_step_end,
            **extra,
        )
    return list(result.images)


@dataclass
class DiffusersEngine:
    model: LoadedModel
    schedulers: SchedulerCache
    space: str
    notice: str | None = None

    @classmethod
    def load(cls, spec: ModelSpec, settings: Settings) -> DiffusersEngine:
        model = load_model(spec, settings)
        return cls(model, SchedulerCache(model.pipeline.scheduler), latent_space(model.pipeline))

    def generate(
        self, request: GenerationInput, on_step: StepCallback, init_image: Image | None = None
    ) -> list[Image]:
        return generate(self.model, self.schedulers, request, on_step, init_image)

    def preview(self, latents: Any) -> str:
        return preview_data_url(latents, self.space)
