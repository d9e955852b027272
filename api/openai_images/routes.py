"""OpenAI's Images API on sdq's queue: `POST /v1/images/generations` and `/v1/images/edits`
(image-to-image), answered when the images are ready, with OpenAI's error shape."""

from __future__ import annotations

import base64
import io
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from PIL import Image, UnidentifiedImageError

from api.auth import Caller
from api.deps import BaseUrl, Runtime
from api.errors import GenerationFailed
from api.openai_images import shapes
from api.runtime import ApiRuntime
from api.submission import images_base64, submit, wait_for_images
from sdq.api_keys import Principal
from sdq.inputs import InputLimits, InvalidField, InvalidInput, parse_input
from sdq.job import JobStatus
from sdq.settings import ModelSpec

router = APIRouter(prefix="/v1/images", tags=["OpenAI Images"])

DEFAULT_SIZE = (512, 512)


async def run(
    runtime: ApiRuntime,
    caller: Principal,
    request: Request,
    base_url: str,
    spec: ModelSpec,
    raw: dict[str, Any],
    response_format: str,
) -> dict[str, Any]:
    settings = runtime.settings
    try:
        parsed = parse_input(raw, InputLimits.for_model(spec, settings.max_prompt_chars))
        job = await submit(runtime, spec, parsed, tenant=caller.tenant, image_field="image")
    except InvalidInput as error:
        raise error.renamed(shapes.FIELD_NAMES) from None
    done = await wait_for_images(runtime, request, job)
    if done.status is not JobStatus.SUCCEEDED:
        raise GenerationFailed(done.error or f"the generation was {done.status.value}")
    if response_format == "b64_json":
        data = [{"b64_json": image} for image in await images_base64(runtime, done)]
    else:
        link = await runtime.output_links(base_url)
        data = [{"url": link(key)} for key in done.output or []]
    return {"created": int(done.created_at), "data": data}


@router.post("/generations")
async def generations(
    body: shapes.GenerationsRequest,
    request: Request,
    runtime: Runtime,
    caller: Caller,
    base_url: BaseUrl,
) -> dict[str, Any]:
    """`model` is a served model id (OpenAI's names mean the default model); `size` defaults to
    512x512; `quality` sets the steps (low 10, standard/medium 20, high/hd 40)."""
    spec = shapes.pick_model(runtime.settings, body.model)
    size = shapes.parse_size(body.size, DEFAULT_SIZE)
    raw = shapes.native_input(body.prompt, body.n, size, body.quality)
    return await run(runtime, caller, request, base_url, spec, raw, body.response_format)


def _image_size(data: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise InvalidInput([InvalidField("image", "is not a readable image")]) from None


@router.post("/edits")
async def edits(
    request: Request,
    runtime: Runtime,
    caller: Caller,
    base_url: BaseUrl,
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
) -> dict[str, Any]:
    """Image-to-image from the first image at `strength` (an sdq extension, default 0.75);
    the output keeps the image's size unless `size` is given. Masks (inpainting) are refused."""
    upload = image or (image_list[0] if image_list else None)
    if upload is None:
        raise InvalidInput([InvalidField("image", "an image file is required")])
    if mask is not None:
        raise InvalidInput([InvalidField("mask", "inpainting with a mask is not supported")])
    spec = shapes.pick_model(runtime.settings, model)
    data = await upload.read()
    default = shapes.edit_size(*_image_size(data), spec)  # the header alone: cheap
    raw = shapes.native_input(prompt, n, shapes.parse_size(size, default), quality)
    # Checked, converted and stored by submit, off the event loop.
    raw |= {"image": base64.b64encode(data).decode(), "prompt_strength": strength}
    return await run(runtime, caller, request, base_url, spec, raw, response_format)
