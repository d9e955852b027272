"""LoRA adapters: the names a model's folder offers, where each model's folder is, and which
adapters a worker loads and unloads for a job (its LRU plan), as tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from sdq.adapters import adapter_file, adapter_names, hub_file, model_adapters
from sdq.settings import ModelSpec, Settings
from worker.engines.adapter_plan import plan_adapters


def test_a_folder_offers_its_safetensors_files_by_name(tmp_path: Path) -> None:
    for name in ["red.safetensors", "blue.v2.safetensors", "notes.txt", ".hidden.safetensors",
                 "sp ace.safetensors", "red.bin"]:  # fmt: skip
        (tmp_path / name).write_bytes(b"")
    assert adapter_names(tmp_path) == ("blue.v2", "red")


@pytest.mark.parametrize("folder", ["missing", "a-file"])
def test_no_folder_offers_no_adapters(tmp_path: Path, folder: str) -> None:
    (tmp_path / "a-file").write_bytes(b"")
    assert adapter_names(tmp_path / folder) == ()


def test_an_unreadable_folder_offers_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_: Path) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "iterdir", refuse)
    assert adapter_names(tmp_path) == ()


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", ".hidden", "", "x" * 101])
def test_an_adapter_name_never_becomes_another_path(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="is not an adapter name"):
        adapter_file(tmp_path, name)


def test_each_model_has_its_own_adapters_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.adapters_dir(ModelSpec(id="sdq/tiny")) == tmp_path / "loras" / "sdq/tiny"
    shared = Settings(data_dir=tmp_path, lora_dir=tmp_path / "adapters")
    assert shared.adapters_dir(ModelSpec(id="a/b")) == tmp_path / "adapters" / "a" / "b"
    own = ModelSpec(id="a/b", lora_dir=tmp_path / "mine")
    assert shared.adapters_dir(own) == tmp_path / "mine"


def test_the_cache_holds_every_adapter_one_job_may_ask_for() -> None:
    with pytest.raises(ValidationError, match="lora_cache_size must be at least"):
        Settings(lora_cache_size=2, max_loras_per_job=3)


@pytest.mark.parametrize(
    ("held", "wanted", "capacity", "load", "unload", "after"),
    [
        ("", "a", 2, "a", "", "a"),
        ("a", "a", 2, "", "", "a"),
        ("ab", "c", 2, "c", "a", "bc"),
        ("ab", "a", 2, "", "", "ba"),  # used again: most recently used
        ("abc", "bd", 3, "d", "a", "cbd"),
        ("ab", "cd", 2, "cd", "ab", "cd"),
        ("ab", "", 2, "", "", "ab"),
        ("a", "bcd", 2, "bcd", "a", "bcd"),  # a job's own adapters are never unloaded for it
    ],
)
def test_a_job_loads_what_is_not_held_and_unloads_the_least_recently_used(
    held: str, wanted: str, capacity: int, load: str, unload: str, after: str
) -> None:
    plan = plan_adapters(tuple(held), tuple(wanted), capacity)
    assert ("".join(plan.load), "".join(plan.unload), "".join(plan.held)) == (load, unload, after)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("acme/pixel", ("acme/pixel", "pytorch_lora_weights.safetensors")),
        ("acme/pixel/v2/pixel.safetensors", ("acme/pixel", "v2/pixel.safetensors")),
        ("acme/pixel/weights.bin", None),
        ("acme", None),
        ("acme/pixel/../x.safetensors", None),
        ("https://example.com/x.safetensors", None),
    ],
)
def test_hub_references(reference: str, expected: tuple[str, str] | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match=r"is not OWNER/REPO or OWNER/REPO/FILE\.safetensors"):
            hub_file(reference)
    else:
        assert hub_file(reference) == expected


def test_a_model_offers_its_folders_adapters_and_its_hub_adapters(tmp_path: Path) -> None:
    (tmp_path / "red.safetensors").write_bytes(b"")
    assert model_adapters(tmp_path, {"pixel": "acme/pixel", "red": "acme/red"}) == ("pixel", "red")


@pytest.mark.parametrize(
    ("hub_loras", "message"),
    [
        ({"../x": "acme/pixel"}, "'../x' is not an adapter name"),
        ({"pixel": "not a repo"}, "is not OWNER/REPO"),
    ],
)
def test_a_spec_with_a_bad_hub_adapter_is_refused(hub_loras: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ModelSpec(id="a/b", hub_loras=hub_loras)
