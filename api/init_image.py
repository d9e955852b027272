"""Image-to-image inputs: decode a data URL or base64 image, check it, store it beside the job."""

from __future__ import annotations

import base64
import binascii
import io

from PIL import Image, UnidentifiedImageError

from sdq.inputs import InvalidField, InvalidInput
from sdq.storage import OutputStorage, output_key

FORMATS = {"PNG", "JPEG", "WEBP"}


def decode_image(text: str, field: str, max_pixels: int) -> bytes:
    """The image as PNG bytes; 422 naming `field` if it is not a PNG/JPEG/WebP or too large."""
    payload = text.split(",", 1)[1] if text.startswith("data:") and "," in text else text
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput([InvalidField(field, "must be a data URL or base64 image")]) from None
    return png_from_bytes(raw, field, max_pixels)


def png_from_bytes(raw: bytes, field: str, max_pixels: int) -> bytes:
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format not in FORMATS:
                raise InvalidInput(
                    [InvalidField(field, f"must be PNG, JPEG or WebP (got {image.format})")]
                )
            width, height = image.size
            if width * height > max_pixels:
                message = f"has {width}x{height} pixels; at most {max_pixels} are accepted"
                raise InvalidInput([InvalidField(field, message)])
            converted = image.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise InvalidInput([InvalidField(field, "is not a readable image")]) from None
    buffer = io.BytesIO()
    converted.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def store_init_image(storage: OutputStorage, job_id: str, png: bytes) -> str:
    key = output_key(job_id, "input-0.png")
    storage.put(key, png, "image/png")
    return key
