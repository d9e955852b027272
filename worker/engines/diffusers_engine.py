"""The diffusers engine: load a model's pipeline once (source, device, runtime plan, threads,
warm-up), pick the sampler per job, generate with seeds per image (one job, or a batch of
compatible jobs), stop between steps, and preview latents."""

from __future__ import annotations

import inspect
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diffusers
import torch
from diffusers import (
    AutoPipelineForImage2Image,
    AutoPipelineForInpainting,
    AutoPipelineForText2Image,
    DiffusionPipeline,
)
from PIL.Image import Image

from sdq.families import FLOW_SAMPLER, family_of_pipeline
from sdq.inputs import GenerationInput, InputLimits, LoraChoice, parse_input
from sdq.schedulers import find_scheduler
from sdq.settings import TINY_MODEL_ID, ModelSpec, Settings
from worker.engines.adapters import AdapterLoadFailed, LoadedAdapters
from worker.engines.base import GenerationCanceled, StepCallback
from worker.engines.inpaint import blurred_mask, filled, pasted_back
from worker.engines.load_errors import (
    LoadCause,
    LoadFailure,
    ModelLoadError,
    local_folder_problem,
)
from worker.engines.previews import NO_PREVIEW, latent_space, patch_rows, preview_data_url
from worker.engines.runtime_apply import DTYPES, apply_steps
from worker.engines.runtime_plan import Device, RuntimePlan, plan_runtime
from worker.engines.tiny_model import hide_progress_bars, make_tiny

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    spec: ModelSpec
    pipeline: DiffusionPipeline
    device: str
    plan: RuntimePlan | None = None
    adapters: LoadedAdapters | None = None  # None: the model takes no LoRA adapters
    _image_to_image: DiffusionPipeline | None = None
    _inpainting: DiffusionPipeline | None = None

    def image_to_image(self) -> DiffusionPipeline:
        """The image-to-image pipeline over the same components (no second copy of weights)."""
        if self._image_to_image is None:
            pipeline: Any = AutoPipelineForImage2Image.from_pipe(self.pipeline)
            pipeline.set_progress_bar_config(disable=True)
            self._image_to_image = pipeline
        return self._image_to_image

    def inpainting(self) -> DiffusionPipeline:
        """The inpainting pipeline over the same components (no second copy of weights)."""
        if self._inpainting is None:
            pipeline: Any = AutoPipelineForInpainting.from_pipe(self.pipeline)
            pipeline.set_progress_bar_config(disable=True)
            self._inpainting = pipeline
        return self._inpainting


def resolve_source(spec: ModelSpec, settings: Settings) -> str:
    """Where the weights come from: the explicit source, the tiny model's folder, or the id."""
    if spec.source:
        return spec.source
    if spec.id == TINY_MODEL_ID:
        return str(make_tiny(settings.models_dir / "sdq-tiny"))
    return spec.id


def choose_device(preference: str) -> Device:
    """CUDA when present (or asked for), CPU otherwise."""
    if preference == "cuda" or (preference == "auto" and torch.cuda.is_available()):
        return "cuda"
    return "cpu"


def load_model(spec: ModelSpec, settings: Settings) -> LoadedModel:
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    device = choose_device(settings.device)
    plan = plan_runtime(spec.runtime, device)
    # Before the tiny model is written too: its shards' progress bars are no use in a log.
    hide_progress_bars()
    source = resolve_source(spec, settings)
    problem = local_folder_problem(source)
    if problem is not None:
        raise ModelLoadError(problem)
    local = Path(source).is_dir()
    log.info("loading %s from %s on %s (%s)", spec.id, source, device, plan.describe())
    for note in plan.notes:
        log.warning("%s: %s", spec.id, note)
    pipeline = AutoPipelineForText2Image.from_pretrained(
        source, torch_dtype=DTYPES[plan.dtype], local_files_only=local
    )
    check_family(spec, type(pipeline).__name__)
    apply_steps(pipeline, plan.steps, device, plan.compile_mode)
    pipeline.set_progress_bar_config(disable=True)
    adapters = LoadedAdapters(
        pipeline, settings.adapters_dir(spec), settings.lora_cache_size, spec.hub_loras
    )
    return LoadedModel(spec, pipeline, device, plan, adapters)


def check_family(spec: ModelSpec, pipeline_class: str) -> None:
    """The checkpoint is of the family the model's spec says (its defaults and rules are that
    family's). A spec that says none is served with SD 1.x's rules whatever loads (as before
    families), said in the log when the checkpoint is of another family; so is a pipeline of no
    family sdq knows."""
    found = family_of_pipeline(pipeline_class)
    if spec.family is None:
        if found not in (None, "sd15"):
            log.warning(
                "%s loads as %s, a %s checkpoint, but its spec names no family: it is served "
                'with SD 1.x\'s defaults and rules; set "family": "%s" for its own',
                spec.id,
                pipeline_class,
                found,
                found,
            )
        return
    if found is None:
        log.warning(
            "%s loads as %s, of no family sdq knows: served with the rules of family %s",
            spec.id,
            pipeline_class,
            spec.family,
        )
    elif found != spec.family:
        message = (
            f"{spec.id} is a {found} checkpoint ({pipeline_class}) but its spec says family "
            f'{spec.family!r}: set "family": "{found}" in its SDQ_MODELS entry'
        )
        raise ModelLoadError(LoadFailure(LoadCause.WRONG_FAMILY, message))


def default_size(pipeline: Any) -> int:
    """The image size the model was trained at (512 for SD 1.5, 1024 for SDXL)."""
    sample = getattr(pipeline, "default_sample_size", None)
    scale = getattr(pipeline, "vae_scale_factor", None)
    return int(sample * scale) if sample and scale else 512


def warm_up(model: LoadedModel, schedulers: SchedulerCache) -> float:
    """Run the plan's warm-up generation (compiling what is compiled); its seconds, 0 if none."""
    if model.plan is None or model.plan.warmup_steps == 0:
        return 0.0
    family = model.spec.rules
    size = model.plan.warmup_size or default_size(model.pipeline)
    size = max(family.size_multiple, size - size % family.size_multiple)  # a size it takes
    fields = {"width": size, "height": size, "num_inference_steps": model.plan.warmup_steps}
    limits = InputLimits(
        min_size=8, max_size=size, family=family, defaults=model.spec.input_defaults()
    )
    request = parse_input({"prompt": "warm-up", "seed": 0} | fields, limits)
    started = time.perf_counter()
    generate(model, schedulers, request, on_step=lambda _step, _total, _latents: False)
    if model.device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


class SchedulerCache:
    """One scheduler instance per sampler name, all built from the model's own scheduler config;
    a flow-matching model (SD 3, FLUX) has one sampler, its own scheduler as loaded."""

    def __init__(self, base: Any, flow_matching: bool = False) -> None:
        self._base = base
        self._config = base.config
        self._built: dict[str, Any] = {}
        self._flow_matching = flow_matching

    def get(self, name: str) -> Any:
        if self._flow_matching:
            if name != FLOW_SAMPLER:
                raise ValueError(f"flow-matching models take only the {FLOW_SAMPLER} sampler")
            return self._base
        if name not in self._built:
            choice = find_scheduler(name)
            if choice is None:
                raise ValueError(f"unknown scheduler {name!r}")
            cls = getattr(diffusers, choice.class_name)
            self._built[name] = cls.from_config(self._config, **choice.config)
        return self._built[name]


def use_adapters(model: LoadedModel, loras: list[LoraChoice]) -> None:
    """The job's LoRA adapters on (loaded when not held), every other one off."""
    if model.adapters is not None:
        model.adapters.apply(loras)
    elif loras:
        raise AdapterLoadFailed(f"model {model.spec.id} takes no LoRA adapters")


def generators(seed: int, count: int) -> list[torch.Generator]:
    """One CPU generator per image, seeded seed, seed+1, ...: the same on every device."""
    return [torch.Generator(device="cpu").manual_seed(seed + i) for i in range(count)]


def generate(
    model: LoadedModel,
    schedulers: SchedulerCache,
    request: GenerationInput,
    on_step: StepCallback,
    init_image: Image | None = None,
    mask: Image | None = None,
) -> list[Image]:
    """Generate `num_outputs` images, from noise or (image-to-image) from `init_image` at
    `prompt_strength`, only inside `mask` when given (inpainting: the original is pasted back
    outside it); raises GenerationCanceled when `on_step` says stop."""
    if init_image is not None and (request.prompt_strength == 0 or nothing_masked(mask)):
        return [init_image.copy() for _ in range(request.num_outputs)]  # nothing to denoise
    use_adapters(model, request.loras)
    extra: dict[str, Any] = {}
    soft_mask: Image | None = None
    if init_image is not None and mask is not None:
        pipe = model.inpainting()
        soft_mask = blurred_mask(mask, request.mask_blur)
        start = filled(init_image, soft_mask) if request.inpainting_fill == "fill" else init_image
        extra = {
            "image": start,
            "mask_image": soft_mask,
            "strength": request.prompt_strength,
            "width": request.width,
            "height": request.height,
        }
        if request.mask_crop_padding is not None:
            extra["padding_mask_crop"] = request.mask_crop_padding
    elif init_image is not None:
        pipe = model.image_to_image()
        extra = {"image": init_image, "strength": request.prompt_strength}
        if takes_size(pipe):  # SD 3 and FLUX would draw at their default size otherwise
            extra |= {"width": request.width, "height": request.height}
    else:
        pipe = model.pipeline
        extra = {"width": request.width, "height": request.height}
    pipe.scheduler = schedulers.get(request.scheduler)

    def on_step_end(
        pipeline: Any, step: int, _timestep: Any, callback_kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        # Some samplers (Heun) run more timesteps than num_inference_steps: count timesteps.
        total = getattr(pipeline, "num_timesteps", None) or request.num_inference_steps
        if on_step(step + 1, total, callback_kwargs["latents"]):
            raise GenerationCanceled()
        return callback_kwargs

    assert request.seed is not None, "the API fixes the seed before enqueue"
    with torch.inference_mode():
        result = pipe(
            prompt=request.prompt,
            **negative(model, request.negative_prompt or None),
            num_inference_steps=request.num_inference_steps,
            guidance_scale=request.guidance_scale,
            num_images_per_prompt=request.num_outputs,
            generator=generators(request.seed, request.num_outputs),
            callback_on_step_end=on_step_end,
            **extra,
        )
    images = list(result.images)
    if init_image is not None and soft_mask is not None:
        return [pasted_back(init_image, image, soft_mask) for image in images]
    return images


_TAKES_SIZE: dict[type, bool] = {}  # per pipeline class: its signature read once


def takes_size(pipeline: Any) -> bool:
    """Whether the pipeline's call takes `width` and `height` (SD 1.x's image-to-image takes the
    image's own)."""
    kind = type(pipeline)
    if kind not in _TAKES_SIZE:
        _TAKES_SIZE[kind] = "width" in inspect.signature(kind.__call__).parameters
    return _TAKES_SIZE[kind]


def negative(model: LoadedModel, prompt: str | list[str] | None) -> dict[str, Any]:
    """The negative prompt argument, for a family that takes one (FLUX's pipelines of some
    diffusers versions have no such parameter; the API refuses one for FLUX)."""
    return {"negative_prompt": prompt} if model.spec.rules.negative_prompt else {}


def nothing_masked(mask: Image | None) -> bool:
    """A mask with no white at all: inpainting would repaint nothing."""
    return mask is not None and mask.getbbox() is None


def generate_batch(
    model: LoadedModel,
    schedulers: SchedulerCache,
    requests: list[GenerationInput],
    on_steps: list[StepCallback],
) -> list[list[Image] | None]:
    """Compatible text-to-image jobs (`sdq.batching`) in one pipeline call: one prompt per image,
    each image with its job's generator (seed + i), so each job draws its own noise; a job whose
    callback says stop is asked no more and gets None; GenerationCanceled once all stopped."""
    first = requests[0]
    prompts: list[str] = []
    negatives: list[str] = []
    seeded: list[torch.Generator] = []
    spans: list[tuple[int, int]] = []
    for request in requests:
        assert request.seed is not None, "the API fixes the seed before enqueue"
        start = len(prompts)
        prompts += [request.prompt] * request.num_outputs
        negatives += [request.negative_prompt] * request.num_outputs
        seeded += generators(request.seed, request.num_outputs)
        spans.append((start, len(prompts)))
    stopped = [False] * len(requests)

    def on_step_end(
        pipeline: Any, step: int, _timestep: Any, callback_kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        total = getattr(pipeline, "num_timesteps", None) or first.num_inference_steps
        latents = callback_kwargs["latents"]
        for index, (start, end) in enumerate(spans):
            if not stopped[index] and on_steps[index](step + 1, total, latents[start:end]):
                stopped[index] = True  # its images still compute; nobody receives them
        if all(stopped):
            raise GenerationCanceled()
        return callback_kwargs

    use_adapters(model, [])  # a batch's jobs ask for none (`sdq.batching`)
    pipe = model.pipeline
    pipe.scheduler = schedulers.get(first.scheduler)
    with torch.inference_mode():
        result = pipe(
            prompt=prompts,
            # An empty negative prompt is what diffusers uses for none.
            **negative(model, negatives if any(negatives) else None),
            num_inference_steps=first.num_inference_steps,
            guidance_scale=first.guidance_scale,
            num_images_per_prompt=1,
            generator=seeded,
            width=first.width,
            height=first.height,
            callback_on_step_end=on_step_end,
        )
    images = list(result.images)
    return [
        None if stopped[index] else images[start:end] for index, (start, end) in enumerate(spans)
    ]


@dataclass
class DiffusersEngine:
    model: LoadedModel
    schedulers: SchedulerCache
    space: str
    notice: str | None = None
    warmup_s: float = 0.0
    patch_rows: int = 0  # the drawing's rows of FLUX's packed latent patches
    preview_failed: bool = False  # a preview raised: said once in the log, then none are sent

    @classmethod
    def load(cls, spec: ModelSpec, settings: Settings) -> DiffusersEngine:
        """Load the model and run its warm-up (timed in `warmup_s`)."""
        model = load_model(spec, settings)
        flow = spec.rules.flow_matching
        schedulers = SchedulerCache(model.pipeline.scheduler, flow)
        warmup_s = warm_up(model, schedulers)
        return cls(model, schedulers, latent_space(model.pipeline), warmup_s=warmup_s)

    def generate(
        self,
        request: GenerationInput,
        on_step: StepCallback,
        init_image: Image | None = None,
        mask: Image | None = None,
    ) -> list[Image]:
        self.patch_rows = patch_rows(self.model.pipeline, request.height)
        return generate(self.model, self.schedulers, request, on_step, init_image, mask)

    def generate_batch(
        self, requests: list[GenerationInput], on_steps: list[StepCallback]
    ) -> list[list[Image] | None]:
        self.patch_rows = patch_rows(self.model.pipeline, requests[0].height)  # one size
        return generate_batch(self.model, self.schedulers, requests, on_steps)

    def preview(self, latents: Any) -> str | None:
        """The step's preview, or None: for latents no projection fits, and after a failure (a
        preview is a nicety: it never fails the job)."""
        if self.space == NO_PREVIEW or self.preview_failed:
            return None
        try:
            return preview_data_url(latents, self.space, self.patch_rows)
        except Exception:
            self.preview_failed = True
            log.exception("%s: step previews stopped: one could not be made", self.model.spec.id)
            return None

    def held_adapters(self) -> frozenset[str]:
        return self.model.adapters.names() if self.model.adapters is not None else frozenset()
