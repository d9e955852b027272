"""Choosing and loading a model's engine; torch and diffusers are imported only for a real model."""

from __future__ import annotations

from sdq.settings import ModelSpec, Settings
from worker.engines.base import Engine


def load_engine(spec: ModelSpec, settings: Settings) -> Engine:
    """The loaded engine of the model's kind: synthetic, or a diffusers pipeline."""
    if spec.kind == "synthetic":
        from worker.engines.synthetic_engine import SyntheticEngine

        return SyntheticEngine(spec.id, settings.synthetic_step_seconds)
    from worker.engines.diffusers_engine import DiffusersEngine

    return DiffusersEngine.load(spec, settings)
