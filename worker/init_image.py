"""Reading an image-to-image job's starting image (and inpainting mask) from storage, resized to
the requested size."""

from __future__ import annotations

import io

from PIL import Image

from sdq.inputs import GenerationInput
from sdq.storage import OutputStorage


def load_init_image(storage: OutputStorage, request: GenerationInput) -> Image.Image | None:
    """None for text-to-image; else the stored image, RGB, resized to width x height (like
    AUTOMATIC1111's "just resize")."""
    return _stored(storage, request.image, "RGB", request)


def load_mask(storage: OutputStorage, request: GenerationInput) -> Image.Image | None:
    """None without inpainting; else the stored mask as greyscale (white = repaint), resized to
    width x height like the starting image (AUTOMATIC1111 resizes a mask of another size)."""
    return _stored(storage, request.mask, "L", request)


def _stored(
    storage: OutputStorage, key: str | None, mode: str, request: GenerationInput
) -> Image.Image | None:
    if key is None:
        return None
    with Image.open(io.BytesIO(storage.get(key))) as image:
        converted = image.convert(mode)
    if converted.size != (request.width, request.height):
        size = (request.width, request.height)
        converted = converted.resize(size, Image.Resampling.LANCZOS)
    return converted
