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

from sdq.inputs import GenerationInput, InvalidField, InvalidInput
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


def image_size(image: InitImage) -> tuple[int, int]:
    """A checked image's width and height (its header alone)."""
    with Image.open(io.BytesIO(image.data)) as opened:
        return opened.size


def matching_mask(mask: InitImage, image: InitImage, field: str) -> InitImage:
    """`mask` when it has the image's size; else 422 naming `field` and both sizes."""
    (width, height), (mask_width, mask_height) = image_size(image), image_size(mask)
    if (width, height) != (mask_width, mask_height):
        message = f"is {mask_width}x{mask_height}; it must be the image's size, {width}x{height}"
        raise InvalidInput([InvalidField(field, message)])
    return mask


def store_init_image(
    storage: OutputStorage, job_id: str, image: InitImage, name: str = "input-0"
) -> str:
    """Store a starting image (or mask: `name` "mask") beside the job; its storage key."""
    key = output_key(job_id, f"{name}.{image.extension}")
    storage.put(key, image.data, image.content_type)
    return key


@dataclass(frozen=True)
class StartingImages:
    """How a submit checks its starting image and mask: the fields that name them in errors, the
    pixel limit, and whether a mask of another size is accepted (to be resized)."""

    image_field: str
    mask_field: str
    max_pixels: int
    any_mask: bool = False

    def checked(
        self,
        request: GenerationInput,
        image: InitImage | None = None,
        mask: InitImage | None = None,
    ) -> tuple[InitImage, InitImage | None]:
        """The request's image and mask, decoded and checked (those given: checked before)."""
        assert request.image is not None
        if image is None:
            image = decode_image(request.image, self.image_field, self.max_pixels)
        if mask is None and request.mask is not None:
            mask = decode_image(request.mask, self.mask_field, self.max_pixels)
            if not self.any_mask:
                matching_mask(mask, image, self.mask_field)
        return image, mask


def store_starting_images(
    storage: OutputStorage, job_id: str, image: InitImage, mask: InitImage | None
) -> dict[str, str]:
    """Store the image (and mask) beside the job: the input fields that now hold storage keys."""
    keys = {"image": store_init_image(storage, job_id, image)}
    if mask is not None:
        try:
            keys["mask"] = store_init_image(storage, job_id, mask, "mask")
        except BaseException:
            storage.delete(keys["image"])
            raise
    return keys
