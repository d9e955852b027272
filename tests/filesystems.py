"""Small real filesystems for tests: a tmpfs mounted on a folder, filled to a chosen free space.

Mounting needs root, which is how these tests run here and in CI; a mount that fails fails the
test with mount's own words, never a skip.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

PAGE = 4096  # tmpfs counts space in pages
FILLER = ".filler"


@contextlib.contextmanager
def tmpfs(folder: Path, size: int, inodes: int | None = None) -> Iterator[Path]:
    """A tmpfs of `size` bytes (and at most `inodes` files and folders) on `folder`, for the
    block; unmounted after, whatever a process left in it."""
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=0755" + (f",nr_inodes={inodes}" if inodes else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "sdq-test", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert mounted.returncode == 0, f"these tests mount a tmpfs (as root): {mounted.stderr}"
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def fill(folder: Path, leave: int) -> Path:
    """Write a filler file so that `leave` bytes (a multiple of PAGE) stay free; returns it."""
    assert leave % PAGE == 0, "tmpfs counts whole pages"
    filler = folder / FILLER
    filler.unlink(missing_ok=True)
    size = shutil.disk_usage(folder).free - leave
    assert size >= 0, f"already less than {leave} bytes free"
    filler.write_bytes(bytes(size))
    assert shutil.disk_usage(folder).free == leave
    return filler


def entries(folder: Path) -> list[str]:
    """Every file and folder under `folder` but the filler, relative, sorted."""
    return sorted(
        str(path.relative_to(folder)) for path in folder.rglob("*") if path.name != FILLER
    )
