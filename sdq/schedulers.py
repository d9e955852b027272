"""The sampler names sdq takes (Replicate's, AUTOMATIC1111's) and each one's diffusers scheduler."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SchedulerChoice:
    """A named sampler: the diffusers scheduler class and the config overrides it implies."""

    name: str
    class_name: str
    config: dict[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    min_steps: int = 1


SCHEDULERS: tuple[SchedulerChoice, ...] = (
    SchedulerChoice("Euler", "EulerDiscreteScheduler", aliases=("K_EULER", "EulerDiscrete")),
    SchedulerChoice(
        "Euler a",
        "EulerAncestralDiscreteScheduler",
        aliases=("K_EULER_ANCESTRAL", "EulerAncestralDiscrete", "euler_a"),
    ),
    SchedulerChoice("DDIM", "DDIMScheduler"),
    SchedulerChoice(
        "DPM++ 2M", "DPMSolverMultistepScheduler", aliases=("DPMSolverMultistep", "dpmpp_2m")
    ),
    SchedulerChoice(
        "DPM++ 2M Karras",
        "DPMSolverMultistepScheduler",
        {"use_karras_sigmas": True},
        aliases=("dpmpp_2m_karras",),
    ),
    SchedulerChoice("LMS", "LMSDiscreteScheduler", aliases=("KLMS", "LMSDiscrete")),
    # PNDM's Runge-Kutta warm-up takes 4 steps; diffusers fails below that.
    SchedulerChoice("PNDM", "PNDMScheduler", min_steps=4),
    SchedulerChoice("Heun", "HeunDiscreteScheduler", aliases=("HeunDiscrete",)),
    SchedulerChoice("UniPC", "UniPCMultistepScheduler", aliases=("UniPCMultistep",)),
)

DEFAULT_SCHEDULER = "Euler a"


def _key(name: str) -> str:
    return name.strip().lower().replace("_", " ").replace("-", " ")


_BY_KEY: dict[str, SchedulerChoice] = {
    _key(alias): choice for choice in SCHEDULERS for alias in (choice.name, *choice.aliases)
}


def find_scheduler(name: str) -> SchedulerChoice | None:
    """Look a sampler up by any of its names, ignoring case, `_` and `-`."""
    return _BY_KEY.get(_key(name))


def scheduler_names() -> list[str]:
    return [choice.name for choice in SCHEDULERS]
