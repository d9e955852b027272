"""Model families (SD 1.x, SDXL, SD 3, FLUX): what each one takes and draws by default (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sdq.schedulers import DEFAULT_SCHEDULER, scheduler_names

Family = Literal["sd15", "sdxl", "sd3", "flux"]
FAMILY_NAMES: tuple[Family, ...] = ("sd15", "sdxl", "sd3", "flux")
# The one sampler of the flow-matching families: their own scheduler (FlowMatchEulerDiscrete).
FLOW_SAMPLER = "Euler"


@dataclass(frozen=True)
class FamilyTraits:
    """A family's defaults (used where a request leaves a field out) and its rules."""

    name: Family
    title: str
    pipeline: str  # the diffusers text-to-image pipeline class its checkpoints load as
    size: int  # default width and height: what it was trained at
    steps: int
    guidance: float
    schedulers: tuple[str, ...]  # the sampler names it takes; the first is its default
    size_multiple: int  # width and height must be multiples of this
    negative_prompt: bool  # whether it takes one
    flow_matching: bool  # samples with its own flow-matching scheduler only

    @property
    def scheduler(self) -> str:
        return self.schedulers[0]


_SAMPLERS = (DEFAULT_SCHEDULER, *(name for name in scheduler_names() if name != DEFAULT_SCHEDULER))

FAMILIES: dict[Family, FamilyTraits] = {
    "sd15": FamilyTraits(
        "sd15", "Stable Diffusion 1.x", "StableDiffusionPipeline",
        size=512, steps=20, guidance=7.5, schedulers=_SAMPLERS, size_multiple=8,
        negative_prompt=True, flow_matching=False,
    ),
    "sdxl": FamilyTraits(
        "sdxl", "Stable Diffusion XL", "StableDiffusionXLPipeline",
        size=1024, steps=30, guidance=5.0, schedulers=_SAMPLERS, size_multiple=8,
        negative_prompt=True, flow_matching=False,
    ),
    "sd3": FamilyTraits(
        "sd3", "Stable Diffusion 3", "StableDiffusion3Pipeline",
        size=1024, steps=28, guidance=7.0, schedulers=(FLOW_SAMPLER,), size_multiple=16,
        negative_prompt=True, flow_matching=True,
    ),
    "flux": FamilyTraits(
        "flux", "FLUX.1", "FluxPipeline",
        size=1024, steps=28, guidance=3.5, schedulers=(FLOW_SAMPLER,), size_multiple=16,
        negative_prompt=False, flow_matching=True,
    ),
}  # fmt: skip


def traits(family: Family) -> FamilyTraits:
    return FAMILIES[family]


def family_of_pipeline(class_name: str) -> Family | None:
    """The family whose checkpoints load as this text-to-image pipeline class (None: another)."""
    return next((f.name for f in FAMILIES.values() if f.pipeline == class_name), None)


def quality_steps(default_steps: int, quality: str) -> int:
    """OpenAI's `quality` as a share of the model's default steps: low half, standard the
    default, high twice, xhigh two and a half times (at most 150)."""
    share = {"low": 0.5, "high": 2.0, "hd": 2.0, "xhigh": 2.5, "max": 2.5}.get(quality, 1.0)
    return max(1, min(150, round(default_steps * share)))
