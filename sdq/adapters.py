"""LoRA adapters: what an adapter may be called, and which a model has (the `.safetensors` files
of its adapters folder, `Settings.adapters_dir`); what jobs ask for is checked against them."""

from __future__ import annotations

import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIX = ".safetensors"
# A file name that is a name, not a path: no separators, no leading dot.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MAX_SCALE = 2.0


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


def adapter_file(folder: Path, name: str) -> Path:
    """The file of adapter `name` (a valid name: checked, since it becomes a path)."""
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not an adapter name")
    return folder / f"{name}{SUFFIX}"


def listed(names: tuple[str, ...] | frozenset[str]) -> str:
    """The available adapters as a 422 says them."""
    return ", ".join(sorted(names)) if names else "none (this model has no adapters)"
