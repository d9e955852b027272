"""PNG encoding of outputs, the generation parameters in text chunks (A1111's `parameters` too)."""

from __future__ import annotations

import io
import json

from PIL.Image import Image
from PIL.PngImagePlugin import PngInfo

from sdq.infotext import a1111_parameters
from sdq.inputs import GenerationInput


def encode_png(image: Image, request: GenerationInput, model: str, seed: int) -> bytes:
    info = PngInfo()
    info.add_text("parameters", a1111_parameters(request, model, seed))
    params = request.model_dump() | {"seed": seed, "model": model}
    info.add_text("sdq", json.dumps(params, separators=(",", ":")))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, compress_level=1)
    return buffer.getvalue()
