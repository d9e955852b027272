"""Running one text-to-image generation on a loaded pipeline: scheduler, seeds, cancel between steps."""

from __future__ import annotations

from typing import Any

import diffusers
import torch
from PIL.Image import Image

from sdq.inputs import GenerationInput
from sdq.schedulers import find_scheduler
from worker.engine import GenerationCanceled, StepCallback
from worker.pipeline import LoadedModel


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
