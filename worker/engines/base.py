"""The engine seam: what a job needs from what draws it (diffusers or the synthetic stand-in)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from PIL.Image import Image

from sdq.inputs import GenerationInput

# Called after each denoising step with (step, total, latents); returning True stops the job.
StepCallback = Callable[[int, int, Any], bool]


class GenerationCanceled(Exception):
    """The job was canceled while it ran; raised from the step callback to stop the loop."""


class Engine(Protocol):
    """One loaded model, ready to generate; one job (or one batch of jobs) at a time."""

    @property
    def notice(self) -> str | None:
        """Said in every job's logs (e.g. that the output is synthetic)."""
        ...

    def generate(
        self,
        request: GenerationInput,
        on_step: StepCallback,
        init_image: Image | None = None,
        mask: Image | None = None,
    ) -> list[Image]:
        """`num_outputs` images (from `init_image` when given: image-to-image; repainted only
        inside `mask`, white = repaint, when given: inpainting); raises GenerationCanceled when
        `on_step` says stop."""
        ...

    def generate_batch(
        self, requests: list[GenerationInput], on_steps: list[StepCallback]
    ) -> list[list[Image] | None]:
        """Compatible text-to-image jobs (`sdq.batching`) in one pipeline call, each with its own
        seeds and step callback (given its own latents): each job's images, or None for a job
        whose callback said stop (it is not called again); raises GenerationCanceled once every
        job stopped."""
        ...

    def preview(self, latents: Any) -> str | None:
        """A small data-URL image of the latents mid-generation, or None if it has none."""
        ...

    def held_adapters(self) -> frozenset[str]:
        """The LoRA adapters it holds loaded, by name (its claims prefer jobs asking for these)."""
        ...
