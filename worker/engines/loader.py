"""Choosing and loading a model's engine; torch and diffusers are imported only for a real model."""

from __future__ import annotations

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
