"""LoRA adapters: what an adapter may be called, and which a model has (the `.safetensors` files
of its adapters folder, `Settings.adapters_dir`, and the Hub adapters its spec names); what jobs
ask for is checked against them."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIX = ".safetensors"
# A file name that is a name, not a path: no separators, no leading dot.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MAX_SCALE = 2.0
# An adapter on the Hugging Face Hub: OWNER/REPO, or OWNER/REPO/FILE.safetensors.
HUB_REFERENCE = re.compile(
    r"(?P<repo>[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*)"
    r"(?:/(?P<file>[A-Za-z0-9][A-Za-z0-9._/-]*\.safetensors))?"
)
# The file diffusers' own LoRA training writes, taken when a reference names none.
HUB_DEFAULT_FILE = "pytorch_lora_weights.safetensors"


def adapter_names(folder: Path) -> tuple[str, ...]:
    """The adapters in `folder`, sorted (none when it does not exist); a file whose name is not a
    valid adapter name is not one."""
    try:
        entries = list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return ()
    except OSError as error:  # unreadable (a volume's permissions): no adapters, said in the log
        log.warning("cannot list the adapters in %s: %s", folder, error)
        return ()
    names = (entry.name.removesuffix(SUFFIX) for entry in entries if entry.name.endswith(SUFFIX))
    return tuple(sorted(name for name in names if NAME.fullmatch(name)))


def model_adapters(folder: Path, hub: Mapping[str, str]) -> tuple[str, ...]:
    """Every adapter of a model, sorted: the files of its folder and its Hub adapters."""
    return tuple(sorted(set(adapter_names(folder)) | set(hub)))


def hub_file(reference: str) -> tuple[str, str]:
    """The repository and file of a Hub adapter reference (checked when the spec is read)."""
    match = HUB_REFERENCE.fullmatch(reference)
    if match is None or ".." in reference.split("/"):
        wanted = "OWNER/REPO or OWNER/REPO/FILE.safetensors"
        raise ValueError(f"{reference!r} is not {wanted} on the Hugging Face Hub")
    return match["repo"], match["file"] or HUB_DEFAULT_FILE


def adapter_file(folder: Path, name: str) -> Path:
    """The file of adapter `name` (a valid name: checked, since it becomes a path)."""
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not an adapter name")
    return folder / f"{name}{SUFFIX}"


def listed(names: tuple[str, ...] | frozenset[str]) -> str:
    """The available adapters as a 422 says them."""
    return ", ".join(sorted(names)) if names else "none (this model has no adapters)"
