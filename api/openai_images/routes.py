"""OpenAI's Images API on sdq's queue: `POST /v1/images/generations` and `/v1/images/edits`
(image-to-image), answered when the images are ready, with OpenAI's error shape."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Form, Request, Response, UploadFile

from api.auth import Caller
from api.deps import BaseUrl, Runtime
from api.errors import GenerationFailed
from api.idempotency import IdempotencyKey, submit_once
from api.idempotency_key import request_hash
from api.init_image import opened_image
from api.json_route import StrictJsonRoute
from api.masks import mask_from_transparency
from api.openai_images import shapes
from api.runtime import ApiRuntime
from api.submission import images_base64, submit, wait_for_images
from sdq.api_keys import Principal
from sdq.inputs import InputLimits, InvalidField, InvalidInput, parse_input
from sdq.job import JobStatus
from sdq.settings import ModelSpec

router = APIRouter(prefix="/v1/images", tags=["OpenAI Images"], route_class=StrictJsonRoute)


@dataclass(frozen=True)
class Once:
    """A call's `Idempotency-Key` (None: none sent) and the hash of the body it is bound to."""

    key: str | None
    request_hash: str


async def run(
    runtime: ApiRuntime,
    caller: Principal,
    request: Request,
    response: Response,
    base_url: str,
    spec: ModelSpec,
    raw: dict[str, Any],
    response_format: str,
    once: Once,
) -> shapes.ImagesResponse:
    settings = runtime.settings
    try:
        parsed = parse_input(raw, InputLimits.for_model(spec, settings))
        submitted = await submit_once(
            runtime,
            caller.tenant,
            once.key,
            once.request_hash,
            lambda job_id: submit(
                runtime,
                spec,
                parsed,
                tenant=caller.tenant,
                image_field="image",
                job_id=job_id,
                key_max_queued=caller.max_queued,
                dialect="openai",
            ),
        )
    except InvalidInput as error:
        raise error.renamed(shapes.FIELD_NAMES) from None
    submitted.mark(response)
    # With a key, a caller that hangs up will repeat the call for the result: keep the job.
    done = await wait_for_images(runtime, request, submitted.job, may_cancel=once.key is None)
    if done.status is not JobStatus.SUCCEEDED:
        raise GenerationFailed(done.error or f"the generation was {done.status.value}")
    data: list[shapes.UrlImage | shapes.Base64Image]
    if response_format == "b64_json":
        data = [shapes.Base64Image(b64_json=image) for image in await images_base64(runtime, done)]
    else:
        link = await runtime.output_links(base_url)
        data = [shapes.UrlImage(url=link(key)) for key in done.output or []]
    return shapes.ImagesResponse(created=int(done.created_at), data=data)


@router.post("/generations")
async def generations(
    body: shapes.GenerationsRequest,
    request: Request,
    response: Response,
    runtime: Runtime,
    caller: Caller,
    base_url: BaseUrl,
    key: IdempotencyKey,
) -> shapes.ImagesResponse:
    """`model` is a served model id (OpenAI's names mean the default model); `size` defaults to
    the model's default size (512x512 for SD 1.x, 1024x1024 for SDXL, SD 3 and FLUX); `quality`
    sets the steps as a share of the model's default (low half, high/hd twice)."""
    spec = shapes.pick_model(runtime.settings, body.model)
    size = shapes.parse_size(body.size, shapes.default_size(spec))
    raw = shapes.native_input(body.prompt, body.n, size, body.quality, spec)
    once = Once(key, request_hash({"route": "generations", "body": body.model_dump(mode="json")}))
    with runtime.waits.held(caller.tenant):  # 429 past the caps, before a job is made
        return await run(
            runtime, caller, request, response, base_url, spec, raw, body.response_format, once
        )


def _image_size(data: bytes, max_pixels: int) -> tuple[int, int]:
    with opened_image(data, "image", max_pixels) as image:
        return image.size


@router.post("/edits")
async def edits(
    request: Request,
    response: Response,
    runtime: Runtime,
    caller: Caller,
    base_url: BaseUrl,
    key: IdempotencyKey,
    prompt: Annotated[str, Form()],
    image: UploadFile | None = None,
    image_list: Annotated[list[UploadFile] | None, Form(alias="image[]")] = None,
    mask: UploadFile | None = None,
    model: Annotated[str | None, Form()] = None,
    n: Annotated[int, Form(ge=1, le=8)] = 1,
    size: Annotated[str | None, Form()] = None,
    response_format: Annotated[str, Form(pattern="^(url|b64_json)$")] = "url",
    quality: Annotated[str | None, Form()] = None,
    strength: Annotated[float, Form(ge=0, le=1)] = 0.75,
) -> shapes.ImagesResponse:
    """Image-to-image from the first image at `strength` (an sdq extension, default 0.75);
    the output keeps the image's size unless `size` is given. With `mask` (a PNG of the image's
    size), only its fully transparent part is repainted: inpainting, the rest kept as it was."""
    upload = image or (image_list[0] if image_list else None)
    if upload is None:
        raise InvalidInput([InvalidField("image", "an image file is required")])
    spec = shapes.pick_model(runtime.settings, model)
    data = await upload.read()
    pixels = runtime.settings.max_init_image_pixels
    image_size = _image_size(data, pixels)  # the header alone: cheap
    default = shapes.edit_size(*image_size, spec)
    raw = shapes.native_input(prompt, n, shapes.parse_size(size, default), quality, spec)
    # Checked, converted and stored by submit, off the event loop.
    raw |= {"image": base64.b64encode(data).decode(), "prompt_strength": strength}
    mask_sha256 = None
    if mask is not None:
        mask_data = await mask.read()
        mask_sha256 = hashlib.sha256(mask_data).hexdigest()
        raw["mask"] = await to_thread.run_sync(
            mask_from_transparency, mask_data, "mask", image_size, pixels
        )
    sent = {
        "prompt": prompt,
        "image_sha256": hashlib.sha256(data).hexdigest(),
        "model": model,
        "n": n,
        "size": size,
        "response_format": response_format,
        "quality": quality,
        "strength": strength,
    }
    if mask_sha256 is not None:  # absent otherwise: the same hash as before masks were taken
        sent["mask_sha256"] = mask_sha256
    once = Once(key, request_hash({"route": "edits", "body": sent}))
    with runtime.waits.held(caller.tenant):  # 429 past the caps, before a job is made
        return await run(
            runtime, caller, request, response, base_url, spec, raw, response_format, once
        )
