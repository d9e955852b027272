"""AUTOMATIC1111's web UI API shapes: its request fields mapped onto sdq's input, and its
`info` / `parameters` answers built from a finished job (pure: no I/O)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.a1111.lora_tags import lora_tags
from sdq import __version__
from sdq.families import FAMILIES, FLOW_SAMPLER, FamilyTraits
from sdq.infotext import a1111_parameters
from sdq.inputs import GenerationInput, InvalidField, InvalidInput
from sdq.job import Job
from sdq.json_types import Number, OptionalText, Text, TruthValue, WholeNumber
from sdq.schedulers import find_scheduler

# sdq input field -> the A1111 field a client sent, for error messages in its own terms.
FIELD_NAMES = {
    "input.prompt": "prompt",
    "input.negative_prompt": "negative_prompt",
    "input.width": "width",
    "input.height": "height",
    "input.num_inference_steps": "steps",
    "input.guidance_scale": "cfg_scale",
    "input.num_outputs": "batch_size",
    "input.seed": "seed",
    "input.scheduler": "sampler_name",
    "input.image": "init_images",
    "input.prompt_strength": "denoising_strength",
    "input.loras": "prompt",  # and what is inside it: its adapters are the prompt's <lora:…> tags
    "input.mask": "mask",
    "input.mask_blur": "mask_blur",
    "input.inpainting_fill": "inpainting_fill",
    "input.mask_crop_padding": "inpaint_full_res_padding",
}
# A1111's `inpainting_fill` codes that sdq draws (not 2, latent noise, nor 3, latent nothing).
INPAINTING_FILL = {0: "fill", 1: "original"}


class Txt2ImgRequest(BaseModel):
    """The common fields of `POST /sdapi/v1/txt2img`; others are accepted and ignored, as the
    original ignores what it does not use."""

    model_config = ConfigDict(extra="allow")

    prompt: Text = ""
    negative_prompt: Text = ""
    seed: WholeNumber = -1
    sampler_name: OptionalText = None
    sampler_index: OptionalText = None
    scheduler: OptionalText = None
    batch_size: WholeNumber = Field(default=1, ge=1)
    n_iter: WholeNumber = Field(default=1, ge=1)
    steps: WholeNumber = 50
    cfg_scale: Number = 7.0
    width: WholeNumber = 512
    height: WholeNumber = 512
    override_settings: dict[str, Any] = Field(default_factory=dict)
    send_images: TruthValue = True
    save_images: TruthValue = False

    def parameters(self) -> dict[str, Any]:
        """Echoed back as `parameters`, like the original (images and mask left out)."""
        return self.model_dump(exclude={"init_images", "mask"})


class Img2ImgRequest(Txt2ImgRequest):
    init_images: list[Text] = Field(default_factory=list)
    denoising_strength: Number = 0.75
    resize_mode: WholeNumber = 0
    mask: OptionalText = None
    mask_blur: WholeNumber = 4
    inpainting_fill: WholeNumber = 0
    inpaint_full_res: TruthValue = True
    inpaint_full_res_padding: WholeNumber = 0
    inpainting_mask_invert: WholeNumber = 0


# Fields added with inpainting: in a request's idempotency hash only when the client sent them,
# so that a call repeated across the upgrade hashes as it did.
INPAINTING_REQUEST_FIELDS = frozenset(
    {"mask", "mask_blur", "inpainting_fill", "inpaint_full_res", "inpaint_full_res_padding",
     "inpainting_mask_invert"}
)  # fmt: skip


def hashed_body(body: Txt2ImgRequest) -> dict[str, Any]:
    """What a request's idempotency hash covers: the body as read, defaults included, but the
    inpainting fields only when sent."""
    return body.model_dump(
        mode="json", exclude=set(INPAINTING_REQUEST_FIELDS - body.model_fields_set)
    )


def inpainting(body: Img2ImgRequest) -> dict[str, Any]:
    """The sdq inpainting fields of an img2img request with a mask (none without one); the mask
    itself as sent (inverted first by the caller when `inpainting_mask_invert` asks)."""
    if not body.mask:
        return {}
    fill = INPAINTING_FILL.get(body.inpainting_fill)
    if fill is None:
        message = (
            f"must be 0 (fill) or 1 (original); got {body.inpainting_fill} (2, latent noise, and "
            "3, latent nothing, are not supported)"
        )
        raise InvalidInput([InvalidField("inpainting_fill", message)])
    if body.inpainting_mask_invert not in (0, 1):
        invert = body.inpainting_mask_invert
        message = f"must be 0 (repaint the white part) or 1 (the black part); got {invert}"
        raise InvalidInput([InvalidField("inpainting_mask_invert", message)])
    fields: dict[str, Any] = {
        "mask": body.mask,
        "mask_blur": body.mask_blur,
        "inpainting_fill": fill,
    }
    if body.inpaint_full_res:
        fields["mask_crop_padding"] = body.inpaint_full_res_padding
    return fields


def checkpoint_name(value: object) -> str | None:
    """`sd_model_checkpoint` as a model id: A1111 titles may end in ` [hash]`."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.split(" [", 1)[0].strip()


def sampler(body: Txt2ImgRequest) -> str:
    """A1111 1.9+ sends `sampler_name` and `scheduler` ("Karras") apart; older ones one name."""
    name = body.sampler_name or body.sampler_index or "Euler"
    if body.scheduler and body.scheduler.lower() not in {"automatic", "uniform", "normal"}:
        combined = f"{name} {body.scheduler}"
        if find_scheduler(combined) is not None:
            return combined
    return name


# sdq input field -> the A1111 field whose default is SD 1.x's (A1111's own).
SD15_DEFAULTS = {
    "width": "width",
    "height": "height",
    "num_inference_steps": "steps",
    "guidance_scale": "cfg_scale",
}
# sdq input field -> the A1111 fields that, sent, set it.
SD15_SENT = {
    **{field: {name} for field, name in SD15_DEFAULTS.items()},
    "scheduler": {"sampler_name", "sampler_index"},
}


def for_family(
    raw: dict[str, Any],
    body: Txt2ImgRequest,
    family: FamilyTraits,
    own_defaults: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """A1111's defaults are SD 1.x's. For a model of another family, what the client left out
    takes the model's defaults instead; for an SD 1.x model, what it left out and the model has a
    default of its own for (`own_defaults`, sdq field names: an sd-turbo's 1 step) does too. On
    SD 3 and FLUX, whose one sampler is their own flow-matching Euler, "Euler a" (the web UI's
    and webuiapi's default) means that one."""
    sent = body.model_fields_set
    deferred = (
        {*SD15_DEFAULTS, "scheduler"} if family.name != "sd15" else own_defaults
    )  # the fields a client that left them out gets from the model
    raw = {k: v for k, v in raw.items() if k not in deferred or SD15_SENT.get(k, {k}) & sent}
    if family.flow_matching and find_scheduler(raw.get("scheduler", "")) == find_scheduler(
        "Euler a"
    ):
        raw["scheduler"] = FLOW_SAMPLER
    return raw


def native_input(
    body: Txt2ImgRequest,
    family: FamilyTraits = FAMILIES["sd15"],
    own_defaults: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The sdq input for an A1111 request (validated afterwards with the model's limits)."""
    if not 1 <= body.batch_size * body.n_iter <= 8:
        count = body.batch_size * body.n_iter
        message = f"batch_size x n_iter must be between 1 and 8 (got {count})"
        raise InvalidInput([InvalidField("batch_size", message)])
    prompt, loras = lora_tags(body.prompt, field="prompt")
    raw: dict[str, Any] = {
        "prompt": prompt,
        "negative_prompt": body.negative_prompt,
        "width": body.width,
        "height": body.height,
        "num_inference_steps": body.steps,
        "guidance_scale": body.cfg_scale,
        "num_outputs": body.batch_size * body.n_iter,
        "scheduler": sampler(body),
    }
    if body.seed != -1:
        raw["seed"] = body.seed
    if loras:
        raw["loras"] = loras
    if isinstance(body, Img2ImgRequest):
        if not body.init_images:
            raise InvalidInput([InvalidField("init_images", "needs one image (base64)")])
        raw["image"] = body.init_images[0]
        raw["prompt_strength"] = body.denoising_strength
        raw |= inpainting(body)
    return for_family(raw, body, family, own_defaults)


def info(job: Job, request: GenerationInput, body: Txt2ImgRequest) -> dict[str, Any]:
    """The `info` object (sent as a JSON string) of a finished job, with the original's keys."""
    assert request.seed is not None
    count = request.num_outputs
    seeds = [request.seed + i for i in range(count)]
    stamp = datetime.fromtimestamp(job.created_at, tz=UTC).strftime("%Y%m%d%H%M%S")
    return {
        "prompt": body.prompt,  # as sent: A1111 keeps the <lora:…> tags in it
        "all_prompts": [body.prompt] * count,
        "negative_prompt": request.negative_prompt,
        "all_negative_prompts": [request.negative_prompt] * count,
        "seed": request.seed,
        "all_seeds": seeds,
        "subseed": request.seed,
        "all_subseeds": seeds,
        "subseed_strength": 0,
        "width": request.width,
        "height": request.height,
        "sampler_name": request.scheduler,
        "cfg_scale": request.guidance_scale,
        "steps": request.num_inference_steps,
        "batch_size": body.batch_size,
        "restore_faces": False,
        "face_restoration_model": None,
        "sd_model_name": job.model,
        "sd_model_hash": None,
        "sd_vae_name": None,
        "sd_vae_hash": None,
        "seed_resize_from_w": -1,
        "seed_resize_from_h": -1,
        "denoising_strength": request.prompt_strength if request.image is not None else 0,
        "extra_generation_params": {},
        "index_of_first_image": 0,
        "infotexts": [a1111_parameters(request, job.model, seed) for seed in seeds],
        "styles": [],
        "job_timestamp": stamp,
        "clip_skip": 1,
        "is_using_inpainting_conditioning": False,
        "version": f"sdq {__version__}",
        "sdq_prediction_id": job.id,
    }


def info_text(job: Job, request: GenerationInput, body: Txt2ImgRequest) -> str:
    return json.dumps(info(job, request, body))


class A1111Images(BaseModel):
    """What txt2img and img2img answer: the images, the request echoed, and `info`."""

    images: list[str] = Field(description="Base64 PNGs (none when interrupted or not sent)")
    parameters: dict[str, Any] = Field(description="The request as received, images left out")
    info: str = Field(description="A JSON object as a string: seeds, sizes, infotexts...")


class ProgressState(BaseModel):
    skipped: bool
    interrupted: bool
    job: str = Field(description="The job's id (empty: none)")
    job_count: int
    job_timestamp: str
    job_no: int
    sampling_step: int
    sampling_steps: int


class Progress(BaseModel):
    """The caller's most recent job: fraction done, ETA, step, latest preview."""

    progress: float = Field(description="0 to 1")
    eta_relative: float = Field(description="Seconds left (an estimate)")
    state: ProgressState
    current_image: str | None = Field(description="The latest preview, base64 (if asked for)")
    textinfo: str | None


class Acknowledged(BaseModel):
    """An empty object: done."""

    model_config = ConfigDict(extra="forbid")


class SdModel(BaseModel):
    title: str
    model_name: str
    hash: str | None
    sha256: str | None
    filename: str
    config: str | None


class Lora(BaseModel):
    """One of the current model's adapters, as `/sdapi/v1/loras` lists them (`path` is the
    file's name: the server's folders are not shown)."""

    name: str
    alias: str
    path: str
    metadata: dict[str, str]


class Sampler(BaseModel):
    name: str
    aliases: list[str]
    options: dict[str, str]


class Options(BaseModel):
    """The options sdq keeps; `POST /options` accepts the original's others and ignores them."""

    sd_model_checkpoint: str = Field(description="The default model of the tenant's calls")
    show_progress_every_n_steps: int = Field(description="Live previews every n steps (0: none)")
    samples_format: str
    sd_checkpoint_hash: str | None


class Scripts(BaseModel):
    txt2img: list[str]
    img2img: list[str]
