"""PNG encoding of outputs with the generation parameters in text chunks (A1111's `parameters` too)."""

from __future__ import annotations

import io
import json

from PIL.Image import Image
from PIL.PngImagePlugin import PngInfo

from sdq.inputs import GenerationInput


def a1111_parameters(request: GenerationInput, model: str, seed: int) -> str:
    """The `parameters` text AUTOMATIC1111 writes, which many image tools read."""
    lines = [request.prompt]
    if request.negative_prompt:
        lines.append(f"Negative prompt: {request.negative_prompt}")
    lines.append(
        f"Steps: {request.num_inference_steps}, Sampler: {request.scheduler}, "
        f"CFG scale: {request.guidance_scale}, Seed: {seed}, "
        f"Size: {request.width}x{request.height}, Model: {model}"
    )
    return "\n".join(lines)


def encode_png(image: Image, request: GenerationInput, model: str, seed: int) -> bytes:
    info = PngInfo()
    info.add_text("parameters", a1111_parameters(request, model, seed))
    params = request.model_dump() | {"seed": seed, "model": model}
    info.add_text("sdq", json.dumps(params, separators=(",", ":")))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, compress_level=1)
    return buffer.getvalue()
