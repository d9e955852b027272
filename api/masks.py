"""Inpainting masks as other APIs send them, turned into sdq's (white = repaint, black = keep): an
AUTOMATIC1111 mask inverted on request, an OpenAI mask's transparency."""

from __future__ import annotations

import base64
import io

from PIL import Image, ImageOps

from api.init_image import decode_image, opened_image
from sdq.inputs import InvalidField, InvalidInput


def png_base64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def inverted_mask(text: str, field: str, max_pixels: int) -> str:
    """A1111's `inpainting_mask_invert`: the mask (data URL or base64) with black and white
    swapped, as a base64 PNG; 422 naming `field` when it is not a readable image."""
    checked = decode_image(text, field, max_pixels)
    with opened_image(checked.data, field, max_pixels) as image:
        return png_base64(ImageOps.invert(image.convert("L")))


def mask_from_transparency(data: bytes, field: str, size: tuple[int, int], max_pixels: int) -> str:
    """OpenAI's mask: a PNG of the image's size whose fully transparent pixels (alpha 0) are
    repainted; as sdq's mask (white where the alpha is 0, black where it is 255, grey between),
    a base64 PNG. 422 naming `field` when it is not such a PNG."""
    with opened_image(data, field, max_pixels) as image:
        if image.format != "PNG":
            raise InvalidInput([InvalidField(field, f"must be a PNG (got {image.format})")])
        width, height = image.size
        if width * height > max_pixels:
            message = f"has {width}x{height} pixels; at most {max_pixels} are accepted"
            raise InvalidInput([InvalidField(field, message)])
        if image.size != size:
            message = f"is {width}x{height}; it must be the image's size, {size[0]}x{size[1]}"
            raise InvalidInput([InvalidField(field, message)])
        if "A" not in image.getbands() and "transparency" not in image.info:
            message = "must have an alpha channel: its transparent pixels are the ones repainted"
            raise InvalidInput([InvalidField(field, message)])
        alpha = image.convert("RGBA").getchannel("A")
    return png_base64(ImageOps.invert(alpha))
