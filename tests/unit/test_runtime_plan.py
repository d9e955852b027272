"""A model's runtime settings become a load plan: precision, ordered setup steps, warm-up, and a
note for each setting the worker's device cannot honour; contradictory settings never start."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sdq.model_runtime import ModelRuntime
from sdq.settings import ModelSpec, Settings
from worker.engines.runtime_plan import Device, Step, plan_runtime

TO = Step("to_device")

PLANS: list[tuple[str, dict[str, Any], Device, str, tuple[Step, ...], int]] = [
    # (name, runtime, device, dtype, steps, warm-up steps)
    ("defaults on CUDA: fp16, a short warm-up", {}, "cuda", "fp16", (TO,), 2),
    ("defaults on CPU: fp32, no warm-up", {}, "cpu", "fp32", (TO,), 0),
    ("bf16 on CUDA", {"dtype": "bf16"}, "cuda", "bf16", (TO,), 2),
    ("fp32 on CUDA", {"dtype": "fp32"}, "cuda", "fp32", (TO,), 2),
    ("fp16 on CPU runs as fp32", {"dtype": "fp16"}, "cpu", "fp32", (TO,), 0),
    ("bf16 on CPU runs as fp32", {"dtype": "bf16"}, "cpu", "fp32", (TO,), 0),
    (
        "model offload replaces the move to the device",
        {"cpu_offload": "model"},
        "cuda",
        "fp16",
        (Step("offload_model"),),
        2,
    ),
    (
        "sequential offload",
        {"cpu_offload": "sequential"},
        "cuda",
        "fp16",
        (Step("offload_sequential"),),
        2,
    ),
    ("offload is ignored on CPU", {"cpu_offload": "model"}, "cpu", "fp32", (TO,), 0),
    (
        "eager attention on both attention users",
        {"attention": "eager"},
        "cuda",
        "fp16",
        (TO, Step("attention_eager", "denoiser"), Step("attention_eager", "vae")),
        2,
    ),
    (
        "channels-last before compile, compile last, VAE memory savers between",
        {"channels_last": True, "compile": "denoiser+vae", "vae_tiling": True, "vae_slicing": True},
        "cuda",
        "fp16",
        (
            TO,
            Step("channels_last", "denoiser"),
            Step("channels_last", "vae"),
            Step("vae_tiling", "vae"),
            Step("vae_slicing", "vae"),
            Step("compile", "denoiser"),
            Step("compile", "vae"),
        ),
        2,
    ),
    (
        "compile on CPU warms up too",
        {"compile": "denoiser"},
        "cpu",
        "fp32",
        (TO, Step("compile", "denoiser")),
        2,
    ),
    (
        "compile with model offload",
        {"compile": "denoiser", "cpu_offload": "model"},
        "cuda",
        "fp16",
        (Step("offload_model"), Step("compile", "denoiser")),
        2,
    ),
    ("an explicit warm-up on CPU", {"warmup_steps": 1}, "cpu", "fp32", (TO,), 1),
    ("no warm-up on CUDA when told", {"warmup_steps": 0}, "cuda", "fp16", (TO,), 0),
]


@pytest.mark.parametrize(
    ("runtime", "device", "dtype", "steps", "warmup"),
    [row[1:] for row in PLANS],
    ids=[row[0] for row in PLANS],
)
def test_the_plan_of_each_runtime(
    runtime: dict[str, Any], device: Device, dtype: str, steps: tuple[Step, ...], warmup: int
) -> None:
    plan = plan_runtime(ModelRuntime(**runtime), device)
    assert (plan.dtype, plan.steps, plan.warmup_steps) == (dtype, steps, warmup)


NOTES: list[tuple[dict[str, Any], Device, str | None]] = [
    ({"dtype": "fp16"}, "cpu", "dtype fp16 runs as fp32 on CPU"),
    ({"cpu_offload": "sequential"}, "cpu", "cpu_offload sequential ignored on CPU"),
    ({"compile": "denoiser", "compile_mode": "max-autotune"}, "cpu", "compiling in mode default"),
    ({"dtype": "fp16", "cpu_offload": "model", "compile": "denoiser"}, "cuda", None),
    ({}, "cpu", None),
]


@pytest.mark.parametrize(("runtime", "device", "note"), NOTES)
def test_what_the_device_cannot_honour_is_noted_not_refused(
    runtime: dict[str, Any], device: Device, note: str | None
) -> None:
    notes = plan_runtime(ModelRuntime(**runtime), device).notes
    if note is None:
        assert notes == ()
    else:
        assert any(note in line for line in notes), notes


def test_the_compile_mode_is_kept_on_cuda() -> None:
    runtime = ModelRuntime(compile="denoiser", compile_mode="max-autotune")
    assert plan_runtime(runtime, "cuda").compile_mode == "max-autotune"
    assert plan_runtime(runtime, "cpu").compile_mode == "default"


def test_the_warmup_size_is_passed_on() -> None:
    assert plan_runtime(ModelRuntime(warmup_size=768), "cuda").warmup_size == 768
    assert plan_runtime(ModelRuntime(), "cuda").warmup_size is None


def test_the_plan_describes_itself_in_one_line() -> None:
    runtime = ModelRuntime(dtype="bf16", channels_last=True, compile="denoiser")
    assert plan_runtime(runtime, "cuda").describe() == (
        "bf16, channels-last denoiser, channels-last vae, compile denoiser, "
        "compile mode default, warm-up 2 steps"
    )
    assert plan_runtime(ModelRuntime(), "cpu").describe() == "fp32, no warm-up"


REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"compile": "denoiser", "warmup_steps": 0}, "compile needs a warm-up"),
    ({"compile": "denoiser+vae", "cpu_offload": "sequential"}, "sequential"),
    ({"dtype": "fp8"}, "dtype"),
    ({"compile": "unet"}, "compile"),
    ({"warmup_size": 100}, "multiple of 8"),
    ({"warmup_steps": -1}, "warmup_steps"),
    ({"flash": True}, "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("runtime", "message"), REFUSED)
def test_contradictory_or_unknown_settings_are_refused(
    runtime: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        ModelRuntime(**runtime)


def test_a_models_runtime_comes_from_sdq_models_json() -> None:
    raw = '[{"id": "a/b", "runtime": {"dtype": "bf16", "compile": "denoiser"}}]'
    (spec,) = Settings(models=raw).models
    assert (spec.runtime.dtype, spec.runtime.compile) == ("bf16", "denoiser")
    assert ModelSpec.parse("a/b=folder").runtime == ModelRuntime()
