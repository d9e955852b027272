"""Image-to-image inputs: decode a data URL or base64 image, check it, store it beside the job as
it was sent (its own format and bytes: no re-encoding, which can make a photo ten times larger)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from sdq.inputs import InvalidField, InvalidInput
from sdq.storage import OutputStorage, output_key

# Each accepted format (as Pillow names it): its file extension and content type. MPO is the
# JPEG a phone camera writes (a JPEG with a second picture appended).
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "MPO": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
_BY_EXTENSION = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}


@dataclass(frozen=True)
class InitImage:
    """A checked starting image: its bytes as sent and their format (a key of FORMATS)."""

    data: bytes
    format: str

    @property
    def extension(self) -> str:
        return FORMATS[self.format][0]

    @property
    def content_type(self) -> str:
        return FORMATS[self.format][1]

    @classmethod
    def stored(cls, key: str, data: bytes) -> InitImage:
        """One stored before (`job/input-0.jpg`), read back, e.g. to retry its job."""
        return cls(data, _BY_EXTENSION.get(key.rsplit(".", 1)[-1], "PNG"))


def decode_image(text: str, field: str, max_pixels: int) -> InitImage:
    """The image sent as a data URL or base64; 422 naming `field` if it is not a readable PNG,
    JPEG or WebP or has too many pixels."""
    payload = text.split(",", 1)[1] if text.startswith("data:") and "," in text else text
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput([InvalidField(field, "must be a data URL or base64 image")]) from None
    return checked_image(raw, field, max_pixels)


def checked_image(raw: bytes, field: str, max_pixels: int) -> InitImage:
    """`raw` if it decodes whole as a PNG, JPEG or WebP within `max_pixels`."""
    with opened_image(raw, field, max_pixels) as image:
        if image.format not in FORMATS:
            raise InvalidInput(
                [InvalidField(field, f"must be PNG, JPEG or WebP (got {image.format})")]
            )
        width, height = image.size
        if width * height > max_pixels:
            message = f"has {width}x{height} pixels; at most {max_pixels} are accepted"
            raise InvalidInput([InvalidField(field, message)])
        image.load()  # decode it all: a truncated or corrupt file is refused now
        found = image.format
    return InitImage(raw, found)


@contextlib.contextmanager
def opened_image(raw: bytes, field: str, max_pixels: int) -> Iterator[Image.Image]:
    """The image in `raw`, its header read (decoding it is the caller's); 422 naming `field` when
    Pillow cannot read it, or when it is past Pillow's own pixel limit (far above `max_pixels`)."""
    try:
        with Image.open(io.BytesIO(raw)) as image:
            yield image
    except Image.DecompressionBombError:
        message = f"has too many pixels; at most {max_pixels} are accepted"
        raise InvalidInput([InvalidField(field, message)]) from None
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise InvalidInput([InvalidField(field, "is not a readable image")]) from None


def store_init_image(storage: OutputStorage, job_id: str, image: InitImage) -> str:
    key = output_key(job_id, f"input-0.{image.extension}")
    storage.put(key, image.data, image.content_type)
    return key
