"""The generation input (Replicate's Stable Diffusion fields) and its limits, checked on submit."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from sdq.adapters import MAX_SCALE, NAME, listed, model_adapters
from sdq.families import FAMILIES, FamilyTraits
from sdq.json_types import Number, OptionalText, OptionalWholeNumber, Text, WholeNumber
from sdq.schedulers import DEFAULT_SCHEDULER, find_scheduler, scheduler_names
from sdq.settings import ModelSpec, Settings

MAX_SEED = 2**32 - 1

# Control characters (Unicode Cc) other than tab, newline and carriage return: NUL separates the
# fields of a PNG text chunk (the infotext is written into every image) and ends C strings; the
# rest are invisible, and ESC sequences restyle any terminal the prompt or its infotext is shown in.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character(text: str) -> str | None:
    """Why `text` is refused for holding a control character, naming the first and its offset;
    None when it holds none."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    return (
        f"must not contain control characters: U+{ord(found.group()):04X} at offset "
        f"{found.start()} (tab, newline and carriage return are allowed)"
    )


@dataclass(frozen=True)
class InputLimits:
    """The limits that depend on the model and the deployment rather than on the field alone."""

    min_size: int = 64
    max_size: int = 2048
    max_prompt_chars: int = 2000
    max_loras: int = 4
    # The model's adapters, read when a job asks for one; None: names are not checked.
    adapters: Callable[[], tuple[str, ...]] | None = None
    family: FamilyTraits = FAMILIES["sd15"]
    # What a request that leaves a field out gets (none: the fields' own defaults, SD 1.x's).
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def for_model(cls, spec: ModelSpec, settings: Settings) -> InputLimits:
        adapters = partial(model_adapters, settings.adapters_dir(spec), spec.hub_loras)
        return cls(
            spec.min_size,
            spec.max_size,
            settings.max_prompt_chars,
            settings.max_loras_per_job,
            adapters,
            spec.rules,
            spec.input_defaults(),
        )


class LoraChoice(BaseModel):
    """One LoRA adapter of the model, and how strongly it applies."""

    model_config = ConfigDict(extra="forbid")

    name: Text = Field(description="The adapter's file name in the model's adapters folder")
    scale: Number = Field(default=1.0, ge=0, le=MAX_SCALE, description="0 (off) to 2")

    @field_validator("name")
    @classmethod
    def _adapter_name(cls, value: str) -> str:
        if not NAME.fullmatch(value):
            raise ValueError(
                "must be an adapter name: a letter or digit, then letters, digits, '.', '_' or "
                "'-', at most 100 characters"
            )
        return value


MAX_MASK_BLUR = 64
MAX_MASK_CROP_PADDING = 256
# The fields that mean something only with a mask (left out of a stored input without one).
INPAINTING_FIELDS = ("mask", "mask_blur", "inpainting_fill", "mask_crop_padding")


class GenerationInput(BaseModel):
    """One text-to-image request; validated with `InputLimits` as context."""

    model_config = ConfigDict(extra="forbid")

    prompt: Text = Field(min_length=1)
    negative_prompt: Text = ""
    width: WholeNumber = 512
    height: WholeNumber = 512
    num_inference_steps: WholeNumber = Field(default=20, ge=1, le=150)
    guidance_scale: Number = Field(default=7.5, ge=0, le=30)
    num_outputs: WholeNumber = Field(default=1, ge=1, le=8)
    seed: OptionalWholeNumber = Field(default=None, ge=0, le=MAX_SEED)
    scheduler: Text = DEFAULT_SCHEDULER
    preview_every: OptionalWholeNumber = Field(
        default=None, ge=1, le=150, description="Publish a preview image every k steps"
    )
    image: OptionalText = Field(
        default=None,
        description="Image-to-image: the starting image as a data URL or base64 (PNG, JPEG, "
        "WebP); the API stores it and keeps its storage key here",
    )
    prompt_strength: Number = Field(
        default=0.8,
        ge=0,
        le=1,
        description=(
            "Image-to-image: how far to move away from the image (0 keeps it, 1 ignores it)"
        ),
    )
    loras: list[LoraChoice] = Field(
        default_factory=list,
        description="LoRA adapters of the model to apply, each with its scale (0 to 2)",
    )
    mask: OptionalText = Field(
        default=None,
        description="Inpainting: which part of `image` to repaint (white) and which to keep "
        "(black), as a data URL or base64 image of the image's size; the API stores it and keeps "
        "its storage key here",
    )
    mask_blur: WholeNumber = Field(
        default=4,
        ge=0,
        le=MAX_MASK_BLUR,
        description="Inpainting: the mask's edge blurred over this many pixels, so that the "
        "repainted part blends into the kept one",
    )
    inpainting_fill: Literal["original", "fill"] = Field(
        default="original",
        description="Inpainting: what the masked part starts from: the image as it is "
        "(`original`), or the colours around it (`fill`)",
    )
    mask_crop_padding: OptionalWholeNumber = Field(
        default=None,
        ge=0,
        le=MAX_MASK_CROP_PADDING,
        description="Inpainting: repaint only the masked area and this many pixels around it, "
        'at the full width and height, then paste it back (AUTOMATIC1111\'s "only masked"); '
        "unset: the whole picture",
    )

    def stored(self) -> dict[str, Any]:
        """The input as the job keeps it: without `loras` when it asks for none and without the
        inpainting fields when it has no mask, so that such a job reads as before to workers of
        the previous version (rolling upgrades)."""
        left_out = set() if self.loras else {"loras"}
        if self.mask is None:
            left_out |= set(INPAINTING_FIELDS)
        return self.model_dump(exclude=left_out or None)

    @field_validator("prompt", "negative_prompt")
    @classmethod
    def _prompt_length(cls, value: str, info: ValidationInfo) -> str:
        limit = _limits(info).max_prompt_chars
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters (got {len(value)})")
        if (refused := control_character(value)) is not None:
            raise ValueError(refused)
        return value

    @field_validator("width", "height")
    @classmethod
    def _size(cls, value: int, info: ValidationInfo) -> int:
        limits = _limits(info)
        if not limits.min_size <= value <= limits.max_size:
            raise ValueError(
                f"must be between {limits.min_size} and {limits.max_size} (got {value})"
            )
        multiple = limits.family.size_multiple
        if value % multiple:
            raise ValueError(f"must be a multiple of {multiple} (got {value})")
        return value

    @field_validator("loras")
    @classmethod
    def _few_distinct_adapters(cls, value: list[LoraChoice], info: ValidationInfo) -> Any:
        limit = _limits(info).max_loras
        if len(value) > limit:
            raise ValueError(f"at most {limit} adapters per job (got {len(value)})")
        names = [choice.name for choice in value]
        twice = next((name for index, name in enumerate(names) if name in names[:index]), None)
        if twice is not None:
            raise ValueError(f"names adapter {twice!r} more than once")
        return value

    @field_validator("scheduler")
    @classmethod
    def _known_scheduler(cls, value: str) -> str:
        choice = find_scheduler(value)
        if choice is None:
            raise ValueError(f"unknown scheduler {value!r}; choose one of {scheduler_names()}")
        return choice.name


# A stored input (a worker reading its job, a dialect reading one back) was checked against the
# deployment's limits when it was accepted: read without context, only the fields' own rules hold.
STORED = InputLimits(min_size=8, max_size=2**16, max_prompt_chars=2**31, max_loras=2**16)


def _limits(info: ValidationInfo) -> InputLimits:
    context = info.context
    return context if isinstance(context, InputLimits) else STORED


@dataclass(frozen=True)
class InvalidField:
    """One rejected field: where it is (dotted) and why, naming the limit."""

    field: str
    description: str


class InvalidInput(Exception):
    """The input broke one or more limits; `fields` names each."""

    def __init__(self, fields: list[InvalidField]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{f.field}: {f.description}" for f in fields))

    def renamed(self, names: dict[str, str]) -> InvalidInput:
        """The same problems with fields named as another API's client sent them; a field not
        named itself takes the name of the nearest field it is inside (`input.loras.0.name`
        that of `input.loras`)."""
        renamed = [InvalidField(_renamed(f.field, names), f.description) for f in self.fields]
        return InvalidInput(renamed)


def _renamed(field: str, names: dict[str, str]) -> str:
    parts = field.split(".")
    for end in range(len(parts), 0, -1):
        name = names.get(".".join(parts[:end]))
        if name is not None:
            return name
    return field


def unknown_model(settings: Settings, field: str, name: str) -> InvalidInput:
    """A model name that is not served, refused with the list of those that are."""
    served = ", ".join(m.id for m in settings.models)
    return InvalidInput([InvalidField(field, f"unknown model {name!r}; served models: {served}")])


def invalid_fields(
    error: ValidationError,
    prefix: str = "input",
    whole: str = "input",
    unknown: str = "is not a known input field",
) -> list[InvalidField]:
    """Turn pydantic's errors into field/description pairs with dotted paths (`whole` names the
    object when a rule spans several fields; `unknown` is said of a field it does not have)."""
    found = []
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "") or whole
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = unknown
        found.append(InvalidField(path, message))
    return found


def parse_input(raw: Any, limits: InputLimits) -> GenerationInput:
    """Validate raw input and fix its seed, so the stored job always reproduces."""
    if not isinstance(raw, dict):
        raise InvalidInput([InvalidField("input", "must be an object")])
    raw = {**limits.defaults, **raw}
    try:
        parsed = GenerationInput.model_validate(raw, context=limits)
    except ValidationError as error:
        raise InvalidInput(invalid_fields(error)) from None
    family_rules(parsed, limits.family)
    choice = find_scheduler(parsed.scheduler)
    if choice is not None and parsed.num_inference_steps < choice.min_steps:
        message = f"must be at least {choice.min_steps} with scheduler {choice.name}"
        raise InvalidInput([InvalidField("input.num_inference_steps", message)])
    denoising_steps = int(parsed.num_inference_steps * parsed.prompt_strength)
    if parsed.image is not None and parsed.prompt_strength > 0 and denoising_steps < 1:
        # Image-to-image runs only this share of the steps; diffusers fails on none at all.
        message = (
            f"times prompt_strength ({parsed.prompt_strength:g}) must be at least 1 step "
            f"(got {parsed.num_inference_steps})"
        )
        raise InvalidInput([InvalidField("input.num_inference_steps", message)])
    if parsed.mask is not None and parsed.image is None:
        message = "needs input.image: the mask says which part of that image to repaint"
        raise InvalidInput([InvalidField("input.mask", message)])
    if parsed.loras and limits.adapters is not None:
        check_adapters(parsed.loras, limits.adapters())
    if parsed.seed is None:
        parsed = parsed.model_copy(update={"seed": secrets.randbelow(MAX_SEED + 1)})
    return parsed


def family_rules(parsed: GenerationInput, family: FamilyTraits) -> None:
    """422 for what the model's family does not take: another sampler, a negative prompt."""
    if parsed.scheduler not in family.schedulers:
        message = (
            f"{family.title} models take only these schedulers: {', '.join(family.schedulers)} "
            f"(got {parsed.scheduler!r})"
        )
        raise InvalidInput([InvalidField("input.scheduler", message)])
    if parsed.negative_prompt and not family.negative_prompt:
        message = f"{family.title} models take no negative prompt: leave it empty"
        raise InvalidInput([InvalidField("input.negative_prompt", message)])


def check_adapters(loras: list[LoraChoice], available: tuple[str, ...]) -> None:
    """422 for each adapter the model does not have, listing those it has."""
    unknown = [
        InvalidField(
            f"input.loras.{index}.name",
            f"unknown adapter {choice.name!r}; this model's adapters: {listed(available)}",
        )
        for index, choice in enumerate(loras)
        if choice.name not in available
    ]
    if unknown:
        raise InvalidInput(unknown)
