"""AUTOMATIC1111's generation-parameters text ("infotext"), written into PNGs and `info`."""

from __future__ import annotations

from sdq.inputs import GenerationInput


def a1111_parameters(request: GenerationInput, model: str, seed: int) -> str:
    """The `parameters` text AUTOMATIC1111 writes, which many image tools read."""
    lines = [request.prompt]
    if request.negative_prompt:
        lines.append(f"Negative prompt: {request.negative_prompt}")
    settings = (
        f"Steps: {request.num_inference_steps}, Sampler: {request.scheduler}, "
        f"CFG scale: {request.guidance_scale}, Seed: {seed}, "
        f"Size: {request.width}x{request.height}, Model: {model}"
    )
    if request.image is not None:
        settings += f", Denoising strength: {request.prompt_strength}"
    lines.append(settings)
    return "\n".join(lines)
