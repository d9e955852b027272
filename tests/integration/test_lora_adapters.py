"""LoRA adapters on the real diffusers pipeline (the tiny model and random adapters written by
`sdq models make-tiny-lora`): scale 0 draws as no adapter, an adapter changes the image, jobs in
a row each get their own adapters and nothing leaks into the next, the base weights never change,
and the worker's cache holds at most its capacity."""

from __future__ import annotations

import shutil
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest
import torch

from sdq.inputs import GenerationInput, InputLimits, parse_input
from sdq.settings import ModelSpec, Settings
from worker.engines.adapters import AdapterLoadFailed, AdapterMissing, LoadedAdapters, name_of
from worker.engines.diffusers_engine import LoadedModel, SchedulerCache, generate, load_model
from worker.engines.tiny_lora import make_tiny_lora

ADAPTERS = ("red", "green", "blue")


@pytest.fixture(scope="module")
def adapters_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("loras")
    for seed, name in enumerate(ADAPTERS, start=1):
        make_tiny_lora(tiny_model_dir, folder / f"{name}.safetensors", seed=seed)
    return folder


def engine(tiny_model_dir: Path, adapters_dir: Path, capacity: int = 8) -> LoadedModel:
    settings = Settings(
        data_dir=tiny_model_dir.parent.parent,
        torch_threads=1,
        lora_cache_size=capacity,
        max_loras_per_job=min(4, capacity),
    )
    return load_model(ModelSpec(id="sdq/tiny", lora_dir=adapters_dir), settings)


@pytest.fixture(scope="module")
def model(tiny_model_dir: Path, adapters_dir: Path) -> LoadedModel:
    return engine(tiny_model_dir, adapters_dir)


def request(loras: list[tuple[str, float]]) -> GenerationInput:
    fields = {"prompt": "a pretty dog", "width": 64, "height": 64, "num_inference_steps": 3}
    chosen = [{"name": name, "scale": scale} for name, scale in loras]
    return parse_input(fields | {"seed": 1, "loras": chosen}, InputLimits())


def draw(model: LoadedModel, *loras: tuple[str, float]) -> np.ndarray:
    schedulers = SchedulerCache(model.pipeline.scheduler)  # type: ignore[attr-defined]
    images = generate(model, schedulers, request(list(loras)), on_step=lambda *_: False)
    return np.asarray(images[0]).astype(int)


def base_weights(model: LoadedModel) -> dict[str, torch.Tensor]:
    """The UNet's own weights (PEFT wraps an adapted layer: its weight moves to `base_layer`)."""
    unet = model.pipeline.unet  # type: ignore[attr-defined]
    return {
        name.replace(".base_layer", ""): value.clone()
        for name, value in unet.state_dict().items()
        if "lora_" not in name
    }


@pytest.fixture(scope="module")
def plain(model: LoadedModel) -> np.ndarray:
    return draw(model)


def test_scale_zero_draws_as_no_adapter(model: LoadedModel, plain: np.ndarray) -> None:
    assert np.array_equal(draw(model, ("red", 0.0)), plain)


def test_an_adapter_changes_the_image(model: LoadedModel, plain: np.ndarray) -> None:
    assert np.abs(draw(model, ("red", 1.0)) - plain).mean() > 1


@pytest.mark.parametrize(
    "sequence",
    [
        [[("red", 1.0)], [("green", 1.0)], [], [("red", 1.0)]],
        [[("red", 0.5), ("blue", 1.5)], [("blue", 1.5)], [("green", 2.0)], []],
    ],
)
def test_jobs_in_a_row_each_get_their_own_adapters(
    tiny_model_dir: Path, adapters_dir: Path, sequence: list[list[tuple[str, float]]]
) -> None:
    """Each job draws as it does on a worker that ran nothing before it."""
    worker = engine(tiny_model_dir, adapters_dir)
    before = base_weights(worker)
    for loras in sequence:
        fresh = engine(tiny_model_dir, adapters_dir)
        assert np.array_equal(draw(worker, *loras), draw(fresh, *loras)), loras
    after = base_weights(worker)
    assert before.keys() == after.keys()
    assert all(torch.equal(before[name], after[name]) for name in before), "base weights changed"


def test_the_cache_holds_at_most_its_capacity_least_recently_used_out(
    tiny_model_dir: Path, adapters_dir: Path
) -> None:
    worker = engine(tiny_model_dir, adapters_dir, capacity=2)
    held = worker.adapters
    assert held is not None
    for name, loads in [("red", 1), ("green", 2), ("red", 2), ("blue", 3), ("green", 4)]:
        draw(worker, (name, 1.0))
        assert held.loads == loads, name
        assert len(held.held) <= 2
    # blue and green are held now; red was the least recently used when green came back.
    assert [name_of(version) for version in held.held] == ["blue", "green"]


def test_a_replaced_adapter_file_is_loaded_anew(
    tiny_model_dir: Path, adapters_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "loras"
    shutil.copytree(adapters_dir, folder)
    worker = engine(tiny_model_dir, folder)
    first = draw(worker, ("red", 1.0))
    make_tiny_lora(tiny_model_dir, folder / "red.safetensors", seed=99)
    assert not np.array_equal(draw(worker, ("red", 1.0)), first)
    assert np.array_equal(draw(worker, ("red", 1.0)), draw(engine(tiny_model_dir, folder),
                                                             ("red", 1.0)))  # fmt: skip


class RefusingPipeline:
    """Stands in for a pipeline whose adapter load fails half-way (the UNet took it)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def load_lora_weights(self, *_: object, **__: object) -> None:
        self.calls.append("load")
        raise ValueError("text encoder: no such module /secret/path")

    def delete_adapters(self, names: list[str]) -> None:
        self.calls.append("delete")

    def disable_lora(self) -> None:
        self.calls.append("disable")


def test_a_failed_load_leaves_no_adapter_on_and_no_path_in_the_error(
    adapters_dir: Path,
) -> None:
    pipeline = RefusingPipeline()
    held = LoadedAdapters(pipeline, adapters_dir, capacity=2)
    with pytest.raises(AdapterLoadFailed) as failed:
        held.apply(request([("red", 1.0)]).loras)
    assert "/" not in str(failed.value) and "'red'" in str(failed.value)
    held.apply([])  # the next job asks for none: whatever the load left is switched off
    assert pipeline.calls == ["load", "delete", "disable"]
    assert held.held == ()


def test_a_missing_adapter_file_fails_the_job_saying_so(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    worker = engine(tiny_model_dir, tmp_path)
    with pytest.raises(AdapterMissing, match="adapter 'red' is no longer in the model's adapters"):
        draw(worker, ("red", 1.0))


def hub_cache_with(tmp_path: Path, repo: str, files: dict[str, Path]) -> Path:
    """A Hugging Face Hub cache holding one snapshot of `repo` with these files, laid out as
    `huggingface_hub` writes it (what a worker that downloaded it before would have)."""
    cache = tmp_path / "hub"
    root = cache / f"models--{repo.replace('/', '--')}"
    revision = "0" * 40
    for name, source in files.items():
        target = root / "snapshots" / revision / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(revision)
    return cache


def test_a_hub_adapter_loads_from_the_hub_cache_without_the_network(
    model: LoadedModel,
    adapters_dir: Path,
    plain: np.ndarray,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # loopback only
    cache = hub_cache_with(
        tmp_path,
        "acme/pixel-lora",
        {
            "pytorch_lora_weights.safetensors": adapters_dir / "red.safetensors",
            "v2/pixel.safetensors": adapters_dir / "green.safetensors",
        },
    )
    assert model.adapters is not None
    hub = {"pixel": "acme/pixel-lora", "pixel2": "acme/pixel-lora/v2/pixel.safetensors"}
    monkeypatch.setattr(model.adapters, "hub", hub)
    monkeypatch.setattr(model.adapters, "hub_cache", cache)
    assert np.array_equal(draw(model, ("pixel", 1.0)), draw(model, ("red", 1.0)))
    assert np.array_equal(draw(model, ("pixel2", 1.0)), draw(model, ("green", 1.0)))
    assert {"pixel", "pixel2"} <= model.adapters.names()
    assert np.array_equal(draw(model), plain)


def test_a_hub_adapter_that_cannot_be_fetched_fails_its_job_naming_it(
    model: LoadedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    assert model.adapters is not None
    monkeypatch.setattr(model.adapters, "hub", {"gone": "acme/nothing-here"})
    monkeypatch.setattr(model.adapters, "hub_cache", tmp_path / "empty")
    with pytest.raises(AdapterMissing) as caught:
        draw(model, ("gone", 1.0))
    message = str(caught.value)
    assert message.startswith(
        "adapter 'gone' (acme/nothing-here/pytorch_lora_weights.safetensors) could not be "
        "fetched from the Hugging Face Hub ("
    )
    assert str(tmp_path) not in message
