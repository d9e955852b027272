"""OpenAI's Images API shapes: requests mapped onto sdq's input, answers built from finished jobs
(pure: no I/O)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.ascii_numbers import ascii_int
from sdq.families import quality_steps
from sdq.inputs import InvalidField, InvalidInput, unknown_model
from sdq.json_types import OptionalText, Text, WholeNumber
from sdq.settings import ModelSpec, Settings

# OpenAI's own model names select the deployment's default model, so code written for OpenAI
# works by changing only its base URL.
OPENAI_MODELS = {"dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5"}
# `quality`: a share of the model's default steps (`sdq.families.quality_steps`).
QUALITIES = ("low", "standard", "medium", "auto", "high", "hd", "xhigh", "max")


class GenerationsRequest(BaseModel):
    """`POST /v1/images/generations`; parameters sdq has no use for are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")

    prompt: Text
    model: OptionalText = None
    n: WholeNumber = Field(default=1, ge=1, le=8)
    size: OptionalText = None
    response_format: Literal["url", "b64_json"] = "url"
    quality: OptionalText = None
    style: OptionalText = None
    user: OptionalText = None


def pick_model(settings: Settings, name: str | None) -> ModelSpec:
    if not name or name in OPENAI_MODELS:
        return settings.models[0]
    spec = settings.model(name)
    if spec is None:
        raise unknown_model(settings, "model", name)
    return spec


# Digits of a side in `size`: anything longer is no size; in-range values are the model's call.
SIZE_DIGITS = 9


def parse_size(size: str | None, default: tuple[int, int]) -> tuple[int, int]:
    """`WIDTHxHEIGHT`; unset or `auto` means `default`."""
    if size is None or size == "auto":
        return default
    first, sep, second = size.lower().partition("x")
    width, height = ascii_int(first, SIZE_DIGITS), ascii_int(second, SIZE_DIGITS)
    if not sep or width is None or height is None:
        shown = size if len(size) <= 32 else f"{size[:32]}..."
        message = f"must be WIDTHxHEIGHT in pixels or auto (got {shown!r})"
        raise InvalidInput([InvalidField("size", message)])
    return width, height


def native_input(
    prompt: str, n: int, size: tuple[int, int], quality: str | None, spec: ModelSpec
) -> dict[str, Any]:
    width, height = size
    raw: dict[str, Any] = {"prompt": prompt, "num_outputs": n, "width": width, "height": height}
    if quality is not None:
        if quality not in QUALITIES:
            choices = ", ".join(QUALITIES)
            raise InvalidInput([InvalidField("quality", f"must be one of {choices}")])
        default_steps = spec.input_defaults()["num_inference_steps"]
        raw["num_inference_steps"] = quality_steps(default_steps, quality)
    return raw


# sdq input field -> the OpenAI parameter a client sent.
FIELD_NAMES = {
    "input.prompt": "prompt",
    "input.num_outputs": "n",
    "input.width": "size",
    "input.height": "size",
    "input.image": "image",
    "input.mask": "mask",
    "input.prompt_strength": "strength",
}


def edit_size(width: int, height: int, spec: ModelSpec) -> tuple[int, int]:
    """An edit keeps its image's size, rounded down to a multiple of 8 (16 for SD 3 and FLUX)
    within the model's bounds."""
    multiple = spec.rules.size_multiple

    def fit(value: int) -> int:
        return max(spec.min_size, min(spec.max_size, value - value % multiple))

    return fit(width), fit(height)


def default_size(spec: ModelSpec) -> tuple[int, int]:
    """The size of a generation that does not say (or says `auto`): the model's default."""
    defaults = spec.input_defaults()
    return defaults["width"], defaults["height"]


class UrlImage(BaseModel):
    url: str = Field(description="A link to the PNG (signed, expiring)")


class Base64Image(BaseModel):
    b64_json: str = Field(description="The PNG, base64")


class ImagesResponse(BaseModel):
    """OpenAI's answer: when the request was made and one entry per image, each a `url` or a
    `b64_json` as `response_format` asked."""

    created: int = Field(description="Unix seconds")
    data: list[UrlImage | Base64Image]
