"""Choosing and loading a model's engine; torch and diffusers are imported only for a real model."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sdq.settings import ModelSpec, Settings
from worker.engines.base import Engine
from worker.engines.load_errors import ModelLoadError, classify


def load_engine(spec: ModelSpec, settings: Settings) -> Engine:
    """The loaded engine of the model's kind: synthetic, or a diffusers pipeline. A model that
    cannot load raises ModelLoadError with its root cause in one line."""
    if spec.kind == "synthetic":
        from worker.engines.synthetic_engine import SyntheticEngine

        return SyntheticEngine(spec.id, settings.synthetic_step_seconds)
    try:
        from worker.engines.diffusers_engine import DiffusersEngine

        return DiffusersEngine.load(spec, settings)
    except Exception as error:
        raise ModelLoadError(classify(error, spec.source or spec.id)) from error


@dataclass(frozen=True)
class LoadTimings:
    """How long the model took to become servable: loading (weights, device, runtime plan) and
    its warm-up generation."""

    load_s: float = 0.0
    warmup_s: float = 0.0


def load_engine_timed(spec: ModelSpec, settings: Settings) -> tuple[Engine, LoadTimings]:
    """`load_engine`, timed; an engine that warms up says how long that took (`warmup_s`)."""
    started = time.perf_counter()
    engine = load_engine(spec, settings)
    total_s = time.perf_counter() - started
    warmup_s = float(getattr(engine, "warmup_s", 0.0))
    return engine, LoadTimings(load_s=total_s - warmup_s, warmup_s=warmup_s)
