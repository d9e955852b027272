"""A worker's loaded LoRA adapters: loaded into the pipeline once (diffusers' PEFT integration),
kept in an LRU of `lora_cache_size`, chosen per job with `set_adapters`, all disabled for a job
that asks for none; the base weights are never changed."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from huggingface_hub import hf_hub_download

from sdq.adapters import adapter_file, hub_file
from sdq.inputs import LoraChoice
from worker.engines.adapter_plan import plan_adapters

log = logging.getLogger(__name__)


class AdapterMissing(Exception):
    """The job names an adapter whose file is not (or no longer) in the model's folder."""


class AdapterLoadFailed(Exception):
    """The adapter's file could not be loaded into this model (not a LoRA of it, or damaged)."""


def version_of(name: str, path: Path) -> str:
    """Adapter `name` as its file is now: a replaced file is a new adapter, not the cached one.
    It starts with the name (which has no ':'), then the file's name, time and size."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise AdapterMissing(f"adapter {name!r} is no longer in the model's adapters") from None
    return f"{name}:{path.name}:{stat.st_mtime_ns}:{stat.st_size}"


def name_of(version: str) -> str:
    return version.split(":", 1)[0]


def peft_name(version: str) -> str:
    """A name PEFT accepts for a module key (no dots), one per file version."""
    return "lora_" + hashlib.sha256(version.encode()).hexdigest()[:16]


def downloaded(name: str, reference: str, cache_dir: Path | None = None) -> Path:
    """The Hub adapter's file in the local Hub cache, downloaded on first use (offline, or with
    `HF_HUB_OFFLINE=1`, only what the cache holds); AdapterMissing naming it when it cannot be."""
    repo, filename = hub_file(reference)
    try:
        return Path(hf_hub_download(repo, filename, cache_dir=cache_dir))
    except Exception as error:  # offline, not found, gated: one line, no URL or path
        kind = type(error).__name__
        raise AdapterMissing(
            f"adapter {name!r} ({repo}/{filename}) could not be fetched from the Hugging Face "
            f"Hub ({kind})"
        ) from error


class LoadedAdapters:
    def __init__(
        self,
        pipeline: Any,
        folder: Path,
        capacity: int,
        hub: Mapping[str, str] | None = None,
        hub_cache: Path | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.folder = folder
        self.capacity = capacity
        self.hub = dict(hub or {})  # name -> OWNER/REPO[/FILE.safetensors]
        self.hub_cache = hub_cache  # None: the Hub's own cache (HF_HOME, HF_HUB_CACHE)
        self.held: tuple[str, ...] = ()  # file versions, least recently used first
        self.touched = False  # a load was tried: adapter layers may be in the pipeline
        self.loads = 0  # adapter loads so far (the dispatch benchmark counts them)

    def file_of(self, name: str) -> Path:
        """The adapter's file: in the model's folder, else (a Hub adapter) in the Hub cache."""
        path = adapter_file(self.folder, name)
        if name in self.hub and not path.is_file():
            return downloaded(name, self.hub[name], self.hub_cache)
        return path

    def names(self) -> frozenset[str]:
        """The adapters held, by name (`version_of`: a version starts with it)."""
        return frozenset(name_of(version) for version in self.held)

    def apply(self, loras: list[LoraChoice]) -> None:
        """Make the pipeline run with exactly these adapters at these scales (none: all off)."""
        if not loras:
            if self.touched:
                self.pipeline.disable_lora()
            return
        files = [self.file_of(choice.name) for choice in loras]
        versions = [version_of(c.name, path) for c, path in zip(loras, files, strict=True)]
        plan = plan_adapters(self.held, versions, self.capacity)
        if plan.unload:
            self.pipeline.delete_adapters([peft_name(version) for version in plan.unload])
            self.held = tuple(version for version in self.held if version not in plan.unload)
        by_version = dict(zip(versions, files, strict=True))
        for version in plan.load:
            path = by_version[version]
            log.info("loading LoRA adapter %s (%s)", name_of(version), path.name)
            self.touched = True
            try:
                self.pipeline.load_lora_weights(
                    str(path.parent), weight_name=path.name, adapter_name=peft_name(version)
                )
            except Exception as error:  # what is held stays true: this one is not
                self._drop_partial(peft_name(version))
                log.exception("could not load LoRA adapter %s", path)
                name = name_of(version)
                raise AdapterLoadFailed(
                    f"could not load adapter {name!r} ({type(error).__name__}): is it a LoRA of "
                    "this model?"
                ) from error
            self.held = (*self.held, version)
            self.loads += 1
        self.held = plan.held
        self.pipeline.enable_lora()
        self.pipeline.set_adapters(
            [peft_name(version) for version in versions],
            adapter_weights=[choice.scale for choice in loras],
        )

    def _drop_partial(self, name: str) -> None:
        """Take out what a failed load left (diffusers cleans up only the component that failed:
        the UNet may hold the adapter when the text encoder's part was refused)."""
        try:
            self.pipeline.delete_adapters([name])
        except Exception:  # nothing of it was left, or nothing can be done
            log.debug("nothing of adapter %s to delete", name, exc_info=True)
