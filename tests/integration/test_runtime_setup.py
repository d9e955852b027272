"""A model's runtime settings applied to the real tiny pipeline: each step changes what it names,
the warm-up runs and is timed, and (opt-in, minutes on CPU) torch.compile really compiles."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch

from sdq.model_runtime import ModelRuntime
from sdq.settings import ModelSpec, Settings
from worker.engines.diffusers_engine import DiffusersEngine, load_model
from worker.engines.loader import load_engine_timed


def settings(tiny_model_dir: Path) -> Settings:
    return Settings(data_dir=tiny_model_dir.parent.parent, device="cpu", torch_threads=1)


def loaded(tiny_model_dir: Path, **runtime: Any) -> Any:
    spec = ModelSpec(id="sdq/tiny", runtime=ModelRuntime(**runtime))
    return load_model(spec, settings(tiny_model_dir)).pipeline


def test_channels_last_reorders_the_convolution_weights(tiny_model_dir: Path) -> None:
    pipe = loaded(tiny_model_dir, channels_last=True)
    weight = pipe.unet.conv_in.weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert not loaded(tiny_model_dir).unet.conv_in.weight.is_contiguous(
        memory_format=torch.channels_last
    )


def test_vae_tiling_and_slicing_are_switched_on(tiny_model_dir: Path) -> None:
    pipe = loaded(tiny_model_dir, vae_tiling=True, vae_slicing=True)
    assert (pipe.vae.use_tiling, pipe.vae.use_slicing) == (True, True)


def test_eager_attention_leaves_sdpa(tiny_model_dir: Path) -> None:
    processors = {type(p).__name__ for p in loaded(tiny_model_dir).unet.attn_processors.values()}
    eager = loaded(tiny_model_dir, attention="eager").unet.attn_processors.values()
    assert processors == {"AttnProcessor2_0"}
    assert {type(p).__name__ for p in eager} == {"AttnProcessor"}


def test_half_precision_on_cpu_loads_as_fp32(tiny_model_dir: Path) -> None:
    assert loaded(tiny_model_dir, dtype="fp16").unet.dtype == torch.float32


def test_compile_wraps_the_denoiser_and_the_vae_decoder_lazily(tiny_model_dir: Path) -> None:
    # Compilation itself happens at the first call (the warm-up); see the opt-in test below.
    pipe = loaded(tiny_model_dir, compile="denoiser+vae", warmup_size=64)
    assert pipe.unet._compiled_call_impl is not None
    assert hasattr(pipe.vae.decode, "_torchdynamo_orig_callable")


def test_the_warm_up_runs_before_ready_and_is_timed(tiny_model_dir: Path) -> None:
    spec = ModelSpec(id="sdq/tiny", runtime=ModelRuntime(warmup_steps=1, warmup_size=64))
    engine, timings = load_engine_timed(spec, settings(tiny_model_dir))
    assert isinstance(engine, DiffusersEngine)
    assert timings.warmup_s == engine.warmup_s > 0
    assert timings.load_s > 0
    _, cold = load_engine_timed(ModelSpec(id="sdq/tiny"), settings(tiny_model_dir))
    assert cold.warmup_s == 0  # CPU without compile: no warm-up by default


@pytest.mark.skipif(
    not os.environ.get("SDQ_TEST_COMPILE"),
    reason="torch inductor compiles the tiny UNet in 3-4 minutes on 2 CPU cores; "
    "SDQ_TEST_COMPILE=1 runs it",
)
@pytest.mark.timeout(900)
def test_compile_really_compiles_during_the_warm_up(tiny_model_dir: Path) -> None:
    runtime = ModelRuntime(compile="denoiser", warmup_size=64)
    engine = DiffusersEngine.load(
        ModelSpec(id="sdq/tiny", runtime=runtime), settings(tiny_model_dir)
    )
    assert engine.warmup_s > 0
    unet = engine.model.pipeline.unet  # type: ignore[attr-defined]
    assert unet._compiled_call_impl is not None
