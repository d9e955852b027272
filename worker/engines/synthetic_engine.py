"""The synthetic engine for capacity tests: sleeps per step (no CPU, like a GPU-bound job),
reports real progress, and returns a flat placeholder image that says what it is."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from PIL import Image, ImageDraw

from sdq.inputs import GenerationInput
from worker.engines.base import GenerationCanceled, StepCallback


def placeholder(width: int, height: int, seed: int, label: str) -> Image.Image:
    """A flat colour picked by the seed, labelled, so outputs differ and are recognisably fake."""
    red, green, blue = hashlib.sha256(str(seed).encode()).digest()[:3]
    image = Image.new("RGB", (width, height), (red, green, blue))
    ImageDraw.Draw(image).text((4, 4), label, fill=(255 - red, 255 - green, 255 - blue))
    return image


@dataclass
class SyntheticEngine:
    model_id: str
    step_seconds: float

    @property
    def notice(self) -> str:
        return (
            f"{self.model_id} is synthetic: {self.step_seconds:g} s per step, "
            "a placeholder image, no real generation"
        )

    def generate(
        self,
        request: GenerationInput,
        on_step: StepCallback,
        init_image: Image.Image | None = None,
        mask: Image.Image | None = None,
    ) -> list[Image.Image]:
        assert request.seed is not None, "the API fixes the seed before enqueue"
        total = request.num_inference_steps
        for step in range(1, total + 1):
            time.sleep(self.step_seconds)
            if on_step(step, total, None):
                raise GenerationCanceled()
        return [
            placeholder(request.width, request.height, request.seed + i, f"synthetic {i}")
            for i in range(request.num_outputs)
        ]

    def generate_batch(
        self, requests: list[GenerationInput], on_steps: list[StepCallback]
    ) -> list[list[Image.Image] | None]:
        """One step's sleep serves every job of the batch, like a GPU's batched step."""
        total = requests[0].num_inference_steps
        stopped = [False] * len(requests)
        for step in range(1, total + 1):
            time.sleep(self.step_seconds)
            for index, on_step in enumerate(on_steps):
                if not stopped[index] and on_step(step, total, None):
                    stopped[index] = True
            if all(stopped):
                raise GenerationCanceled()
        return [
            None
            if stopped[index]
            else [
                placeholder(r.width, r.height, (r.seed or 0) + i, f"synthetic {i}")
                for i in range(r.num_outputs)
            ]
            for index, r in enumerate(requests)
        ]

    def preview(self, latents: object) -> None:
        return None

    def held_adapters(self) -> frozenset[str]:
        return frozenset()
