"""Free space on the local output storage: its measure, and the words for running out of it.

Standard library only (the worker's probe imports it); everything but `free_bytes` is pure.
"""

from __future__ import annotations

import errno
import shutil
from dataclasses import dataclass
from pathlib import Path

# A full filesystem (ENOSPC) or a used-up quota (EDQUOT): retrying the write cannot help.
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
SETTING = "SDQ_MIN_FREE_DISK_BYTES"
HINT = "free some space or point SDQ_DATA_DIR elsewhere"


@dataclass(frozen=True)
class SpaceVerdict:
    """Whether a worker may take a job whose outputs go to the folder, and why (one line)."""

    ok: bool
    reason: str


def is_full_error(error: OSError) -> bool:
    return error.errno in FULL_ERRNOS


def free_bytes(path: Path) -> int | None:
    """Bytes a writer may still use on the filesystem holding `path` (the nearest existing folder
    above it while it does not exist yet); None when that cannot be measured."""
    for candidate in (path, *path.parents):
        try:
            return shutil.disk_usage(candidate).free
        except FileNotFoundError:
            continue
        except OSError:
            return None
    return None


def format_bytes(count: int) -> str:
    """`512 bytes`, `12.0 KiB`, `1.5 GiB`: what a person reads in an error line."""
    if count < 1024:
        return f"{count} bytes"
    size = float(count)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            break
    return f"{size:.1f} {unit}"


def no_space_message(path: Path, free: int | None) -> str:
    """The error a job fails with when its output could not be written for want of space."""
    left = "free space unknown" if free is None else f"{format_bytes(free)} free"
    return f"no space left on the output storage ({path}): {left}; {HINT}"


def space_verdict(path: Path, free: int | None, min_free: int) -> SpaceVerdict:
    """Room for a job's outputs: at least `min_free` bytes free (0 turns the check off; a folder
    whose space cannot be measured is not held against the worker)."""
    if min_free <= 0:
        return SpaceVerdict(True, f"free-space check off ({SETTING}=0)")
    if free is None:
        return SpaceVerdict(True, f"free space of the output storage ({path}) unknown")
    if free < min_free:
        return SpaceVerdict(
            False,
            f"low space on the output storage ({path}): {format_bytes(free)} free, below "
            f"{SETTING} ({format_bytes(min_free)}); {HINT}",
        )
    return SpaceVerdict(True, f"{format_bytes(free)} free on the output storage")
