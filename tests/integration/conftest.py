"""The tiny model loaded through the worker's engine, shared by the generation tests (a module
that needs another setup defines its own `model`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdq.settings import ModelSpec, Settings
from worker.engines.diffusers_engine import LoadedModel, SchedulerCache, load_model


@pytest.fixture(scope="module")
def model(tiny_model_dir: Path) -> LoadedModel:
    settings = Settings(data_dir=tiny_model_dir.parent.parent, torch_threads=1)
    return load_model(ModelSpec(id="sdq/tiny"), settings)


@pytest.fixture(scope="module")
def schedulers(model: LoadedModel) -> SchedulerCache:
    # diffusers sets a pipeline's components at run time; its types do not declare them.
    return SchedulerCache(model.pipeline.scheduler)  # type: ignore[attr-defined]
