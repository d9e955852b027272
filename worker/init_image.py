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
    if request.image is None:
        return None
    with Image.open(io.BytesIO(storage.get(request.image))) as image:
        rgb = image.convert("RGB")
    if rgb.size != (request.width, request.height):
        rgb = rgb.resize((request.width, request.height), Image.Resampling.LANCZOS)
    return rgb


def load_mask(storage: OutputStorage, request: GenerationInput) -> Image.Image | None:
    """None without inpainting; else the stored mask as greyscale (white = repaint), resized to
    width x height like the starting image (AUTOMATIC1111 resizes a mask of another size)."""
    if request.mask is None:
        return None
    with Image.open(io.BytesIO(storage.get(request.mask))) as image:
        grey = image.convert("L")
    if grey.size != (request.width, request.height):
        grey = grey.resize((request.width, request.height), Image.Resampling.LANCZOS)
    return grey
