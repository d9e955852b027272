"""A worker's loaded LoRA adapters: loaded into the pipeline once (diffusers' PEFT integration),
kept in an LRU of `lora_cache_size`, chosen per job with `set_adapters`, all disabled for a job
that asks for none; the base weights are never changed."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from sdq.adapters import SUFFIX, adapter_file
from sdq.inputs import LoraChoice
from worker.engines.adapter_plan import plan_adapters

log = logging.getLogger(__name__)


class AdapterMissing(Exception):
    """The job names an adapter whose file is not (or no longer) in the model's folder."""


class AdapterLoadFailed(Exception):
    """The adapter's file could not be loaded into this model (not a LoRA of it, or damaged)."""


def version_of(path: Path) -> str:
    """The adapter's file as loaded: a replaced file is a new adapter, not the cached one."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        name = path.name.removesuffix(SUFFIX)
        raise AdapterMissing(f"adapter {name!r} is no longer in the model's adapters") from None
    return f"{path.name}:{stat.st_mtime_ns}:{stat.st_size}"


def peft_name(version: str) -> str:
    """A name PEFT accepts for a module key (no dots), one per file version."""
    return "lora_" + hashlib.sha256(version.encode()).hexdigest()[:16]


class LoadedAdapters:
    def __init__(self, pipeline: Any, folder: Path, capacity: int) -> None:
        self.pipeline = pipeline
        self.folder = folder
        self.capacity = capacity
        self.held: tuple[str, ...] = ()  # file versions, least recently used first
        self.touched = False  # a load was tried: adapter layers may be in the pipeline
        self.loads = 0  # adapter loads so far (the dispatch benchmark counts them)

    def names(self) -> frozenset[str]:
        """The adapters held, by name (a version starts with its file's name, which has no ':')."""
        return frozenset(version.split(":", 1)[0].removesuffix(SUFFIX) for version in self.held)

    def apply(self, loras: list[LoraChoice]) -> None:
        """Make the pipeline run with exactly these adapters at these scales (none: all off)."""
        if not loras:
            if self.touched:
                self.pipeline.disable_lora()
            return
        files = [adapter_file(self.folder, choice.name) for choice in loras]
        versions = [version_of(path) for path in files]
        plan = plan_adapters(self.held, versions, self.capacity)
        if plan.unload:
            self.pipeline.delete_adapters([peft_name(version) for version in plan.unload])
            self.held = tuple(version for version in self.held if version not in plan.unload)
        by_version = dict(zip(versions, files, strict=True))
        for version in plan.load:
            path = by_version[version]
            log.info("loading LoRA adapter %s", path.name)
            self.touched = True
            try:
                self.pipeline.load_lora_weights(
                    str(path.parent), weight_name=path.name, adapter_name=peft_name(version)
                )
            except Exception as error:  # what is held stays true: this one is not
                self._drop_partial(peft_name(version))
                log.exception("could not load LoRA adapter %s", path)
                name = path.name.removesuffix(SUFFIX)
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
