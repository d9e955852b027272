"""The real engine: a diffusers pipeline with per-sampler schedulers and latent previews."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PIL.Image import Image

from sdq.inputs import GenerationInput
from sdq.settings import ModelSpec, Settings
from worker.engine import StepCallback
from worker.generation import SchedulerCache, generate
from worker.pipeline import LoadedModel, load_model
from worker.previews import latent_space, preview_data_url


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
