"""AUTOMATIC1111's `/sdapi/v1` on sdq's queue: txt2img, img2img, progress, interrupt, models,
samplers, options. Calls wait for their images on the job's event stream (no thread each)."""

from __future__ import annotations

import time
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request, Response

from api.a1111 import shapes as a1111
from api.auth import Caller
from api.deps import Runtime
from api.errors import GenerationFailed
from api.idempotency import IdempotencyKey, submit_once
from api.idempotency_key import request_hash
from api.json_route import StrictJsonRoute
from api.masks import inverted_mask
from api.queue_view import queue_info
from api.runtime import ApiRuntime
from api.submission import cancel, images_base64, submit, wait_for_images
from sdq.adapters import SUFFIX, adapter_names
from sdq.api_keys import Principal
from sdq.inputs import (
    GenerationInput,
    InputLimits,
    InvalidField,
    InvalidInput,
    parse_input,
    unknown_model,
)
from sdq.job import EventType, JobStatus
from sdq.schedulers import SCHEDULERS
from sdq.settings import ModelSpec
from sdq.store import a1111 as a1111_store
from sdq.store.events import newest_events
from sdq.store.jobs import get_job

router = APIRouter(prefix="/sdapi/v1", tags=["AUTOMATIC1111"], route_class=StrictJsonRoute)

PREVIEW_OPTION = "show_progress_every_n_steps"


async def last_job_id(runtime: ApiRuntime, caller: Principal) -> str | None:
    """The caller's tenant's most recent job: what progress and interrupt act on. Without keys
    every caller is one tenant, as with one AUTOMATIC1111 web UI."""
    return await runtime.store.run(a1111_store.last_job(caller.tenant))


async def read_options(runtime: ApiRuntime, caller: Principal) -> dict[str, str]:
    """The options the caller's tenant set through `POST /options` (one read)."""
    return await runtime.store.run(a1111_store.get_options(caller.tenant))


def default_model(runtime: ApiRuntime, options: dict[str, str]) -> ModelSpec:
    chosen = options.get("sd_model_checkpoint")
    return (runtime.settings.model(chosen) if chosen else None) or runtime.settings.models[0]


def chosen_model(
    runtime: ApiRuntime, options: dict[str, str], body: a1111.Txt2ImgRequest
) -> ModelSpec:
    name = a1111.checkpoint_name(body.override_settings.get("sd_model_checkpoint"))
    if name is None:
        return default_model(runtime, options)
    spec = runtime.settings.model(name)
    if spec is None:
        raise unknown_model(runtime.settings, "override_settings.sd_model_checkpoint", name)
    return spec


async def generate(
    runtime: ApiRuntime,
    caller: Principal,
    request: Request,
    response: Response,
    body: a1111.Txt2ImgRequest,
    key: str | None,
) -> a1111.A1111Images:
    settings = runtime.settings
    options = await read_options(runtime, caller)
    spec = chosen_model(runtime, options, body)
    own = frozenset(spec.defaults.model_dump(exclude_none=True))
    raw = a1111.native_input(body, spec.rules, own)
    if raw.get("mask") and isinstance(body, a1111.Img2ImgRequest) and body.inpainting_mask_invert:
        pixels = settings.max_init_image_pixels
        raw["mask"] = await to_thread.run_sync(inverted_mask, raw["mask"], "mask", pixels)
    every = options.get(PREVIEW_OPTION)
    if every and int(every) > 0:
        raw["preview_every"] = int(every)  # live previews for /progress's current_image
    wanted = request_hash({"route": type(body).__name__, "body": a1111.hashed_body(body)})
    try:
        parsed = parse_input(raw, InputLimits.for_model(spec, settings))
        submitted = await submit_once(
            runtime,
            caller.tenant,
            key,
            wanted,
            lambda job_id: submit(
                runtime,
                spec,
                parsed,
                tenant=caller.tenant,
                image_field="init_images",
                any_mask=True,  # A1111 resizes a mask to the image, as the worker does
                job_id=job_id,
                key_max_queued=caller.max_queued,
                dialect="a1111",
            ),
        )
    except InvalidInput as error:
        raise error.renamed(a1111.FIELD_NAMES) from None
    job = submitted.job
    submitted.mark(response)
    if not submitted.replayed:
        await runtime.store.run(
            a1111_store.remember_last_job(caller.tenant, job.id, settings.job_retention_s)
        )
    # With a key, a caller that hangs up will repeat the call for the result: keep the job.
    done = await wait_for_images(runtime, request, job, may_cancel=key is None)
    if done.status is JobStatus.FAILED:
        raise GenerationFailed(done.error or "generation failed")
    final = GenerationInput.model_validate(done.input)
    images: list[str] = []
    if body.send_images and done.status is JobStatus.SUCCEEDED:
        images = await images_base64(runtime, done)
    return a1111.A1111Images(
        images=images, parameters=body.parameters(), info=a1111.info_text(done, final, body)
    )


@router.post("/txt2img")
async def txt2img(
    body: a1111.Txt2ImgRequest,
    request: Request,
    response: Response,
    runtime: Runtime,
    caller: Caller,
    key: IdempotencyKey,
) -> a1111.A1111Images:
    """Queued like any job; answers when the images are ready (interrupted: no images). A repeat
    with the same `Idempotency-Key` waits for the first call's job and answers with its images."""
    with runtime.waits.held(caller.tenant):  # 429 past the caps, before a job is made
        return await generate(runtime, caller, request, response, body, key)


@router.post("/img2img")
async def img2img(
    body: a1111.Img2ImgRequest,
    request: Request,
    response: Response,
    runtime: Runtime,
    caller: Caller,
    key: IdempotencyKey,
) -> a1111.A1111Images:
    """`init_images[0]` resized to width x height ("just resize"), `denoising_strength`."""
    with runtime.waits.held(caller.tenant):  # 429 past the caps, before a job is made
        return await generate(runtime, caller, request, response, body, key)


IDLE_STATE = a1111.ProgressState(
    skipped=False,
    interrupted=False,
    job="",
    job_count=0,
    job_timestamp="0",
    job_no=0,
    sampling_step=0,
    sampling_steps=0,
)


def idle(interrupted: bool) -> a1111.Progress:
    """No job of the caller's runs or waits; `interrupted` when the last one was canceled."""
    state = IDLE_STATE.model_copy(update={"interrupted": interrupted})
    return a1111.Progress(
        progress=0.0, eta_relative=0.0, state=state, current_image=None, textinfo=None
    )


@router.get("/progress")
async def progress(
    runtime: Runtime, caller: Caller, skip_current_image: bool = False
) -> a1111.Progress:
    """The caller's (tenant's) most recent job: fraction done, ETA, step, latest preview (if it
    asked for previews with `preview_every`); while it waits, its place in the queue
    (`textinfo`) and an ETA of when it should be done (`eta_relative`, seconds)."""
    job_id = await last_job_id(runtime, caller)
    job = await runtime.store.run(get_job(job_id)) if job_id else None
    if job is None or job.status.is_terminal:
        interrupted = job is not None and job.status is JobStatus.CANCELED
        return idle(interrupted)
    step = total = 0
    eta: float | None = None
    image: str | None = None
    for event in await runtime.store.run(newest_events(job.id, 200)):
        data = event.data
        if data.get("attempt", job.attempt) != job.attempt:
            continue
        if event.type is EventType.PROGRESS and not total:
            step, total, eta = data["step"], data["total"], data.get("eta_s")
        if event.type is EventType.PREVIEW and image is None and not skip_current_image:
            image = str(data["image"]).split(",", 1)[-1]
        if total and (image is not None or skip_current_image):
            break
    running = job.status is JobStatus.RUNNING
    text = f"Step {step}/{total}" if total else "Starting"
    if not running:
        queue = await queue_info(runtime, job)
        text = "Waiting in the queue"
        if queue is not None:
            eta = max(0.0, queue.eta - time.time())
            text = f"Waiting in the queue: {queue.position} job(s) before it"
    state = a1111.ProgressState(
        skipped=False,
        interrupted=False,
        job=job.id,
        job_count=1,
        job_timestamp=str(int(job.created_at)),
        job_no=0,
        sampling_step=step,
        sampling_steps=total,
    )
    return a1111.Progress(
        progress=round(step / total, 4) if total else 0.0,
        eta_relative=round(eta, 3) if eta else 0.0,
        state=state,
        current_image=image,
        textinfo=text,
    )


@router.post("/interrupt")
async def interrupt(runtime: Runtime, caller: Caller) -> a1111.Acknowledged:
    """Cancel the caller's (tenant's) most recent job (queued: never runs; running: stops at the
    next step)."""
    job_id = await last_job_id(runtime, caller)
    if job_id:
        await cancel(runtime, job_id)
    return a1111.Acknowledged()


@router.post("/skip")
async def skip(runtime: Runtime, caller: Caller) -> a1111.Acknowledged:
    """Like interrupt: a job makes one batch, so there is nothing to skip to."""
    return await interrupt(runtime, caller)


@router.get("/sd-models")
async def sd_models(runtime: Runtime) -> list[a1111.SdModel]:
    return [
        a1111.SdModel(
            title=spec.id,
            model_name=spec.name,
            hash=None,
            sha256=None,
            filename=spec.source or spec.id,
            config=None,
        )
        for spec in runtime.settings.models
    ]


@router.get("/loras")
async def loras(runtime: Runtime, caller: Caller) -> list[a1111.Lora]:
    """The adapters of the caller's current model (`sd_model_checkpoint`), to use as
    `<lora:NAME:WEIGHT>` in a prompt."""
    model = default_model(runtime, await read_options(runtime, caller))
    on_disk = set(await to_thread.run_sync(adapter_names, runtime.settings.adapters_dir(model)))
    names = sorted(on_disk | set(model.hub_loras))  # what sdq.adapters.model_adapters gives

    def path(name: str) -> str:  # a file of the folder wins over a Hub adapter of its name
        return f"{name}{SUFFIX}" if name in on_disk else f"hf:{model.hub_loras[name]}"

    return [a1111.Lora(name=name, alias=name, path=path(name), metadata={}) for name in names]


@router.get("/samplers")
async def samplers(runtime: Runtime, caller: Caller) -> list[a1111.Sampler]:
    """The samplers of the caller's current model's family (SD 3 and FLUX: only Euler)."""
    family = default_model(runtime, await read_options(runtime, caller)).rules
    return [
        a1111.Sampler(name=s.name, aliases=list(s.aliases), options={})
        for s in SCHEDULERS
        if s.name in family.schedulers
    ]


@router.get("/options")
async def get_options(runtime: Runtime, caller: Caller) -> a1111.Options:
    options = await read_options(runtime, caller)
    model = default_model(runtime, options)
    every = options.get(PREVIEW_OPTION)
    return a1111.Options(
        sd_model_checkpoint=model.id,
        show_progress_every_n_steps=int(every) if every else 0,
        samples_format="png",
        sd_checkpoint_hash=None,
    )


@router.post("/options")
async def set_options(body: dict[str, Any], runtime: Runtime, caller: Caller) -> a1111.Acknowledged:
    """`sd_model_checkpoint` sets the default model of the tenant's later calls, and
    `show_progress_every_n_steps` their live previews (without keys: every caller's, as in the
    original). Other options are accepted and ignored."""
    if "sd_model_checkpoint" in body:
        name = a1111.checkpoint_name(body["sd_model_checkpoint"])
        spec = runtime.settings.model(name) if name else None
        if spec is None:
            raise unknown_model(
                runtime.settings, "sd_model_checkpoint", str(body["sd_model_checkpoint"])
            )
        await runtime.store.run(
            a1111_store.set_option(caller.tenant, "sd_model_checkpoint", spec.id)
        )
    if PREVIEW_OPTION in body:
        every = body[PREVIEW_OPTION]
        if not isinstance(every, int) or not -1 <= every <= 150:
            message = "must be an integer from -1 to 150 (0 or -1: no previews)"
            raise InvalidInput([InvalidField(PREVIEW_OPTION, message)])
        await runtime.store.run(a1111_store.set_option(caller.tenant, PREVIEW_OPTION, str(every)))
    return a1111.Acknowledged()


@router.get("/scripts")
async def scripts() -> a1111.Scripts:
    """No A1111 scripts or extensions run here (clients probe this list)."""
    return a1111.Scripts(txt2img=[], img2img=[])
