"""Local output storage on a real filesystem that fills up (a small tmpfs): a write that does not
fit raises `StorageFull` with the folder and its free space, and leaves nothing behind; the
worker's guard and the readiness probe measure that same filesystem."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sdq.disk_space import free_bytes
from sdq.storage import LocalOutputStorage, StorageFull, output_key
from tests.filesystems import PAGE, entries, fill, tmpfs
from worker.disk_guard import DiskGuard
from worker.probes import ProbeMarkers, main

JOB = "abcdefgh12345678"
OTHER = "ijklmnop12345678"


@pytest.fixture
def outputs(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "outputs", 256 * PAGE) as folder:
        yield folder


def test_a_file_that_does_not_fit_raises_the_clear_error_and_leaves_nothing(outputs: Path) -> None:
    storage = LocalOutputStorage(outputs)
    fill(outputs, leave=2 * PAGE)
    with pytest.raises(StorageFull) as raised:
        storage.put(output_key(JOB, "out-1-0.png"), bytes(8 * PAGE), "image/png")
    assert str(raised.value) == (
        f"no space left on the output storage ({outputs}): 8.0 KiB free; "
        "free some space or point SDQ_DATA_DIR elsewhere"
    )
    assert entries(outputs) == []  # no temp file, not even the job's folder
    # what fits is still stored, whole
    small = output_key(JOB, "out-1-0.png")
    storage.put(small, b"png" * 100, "image/png")
    assert storage.get(small) == b"png" * 100
    # a failure in a folder that already holds outputs keeps them, and only them
    with pytest.raises(StorageFull):
        storage.put(output_key(JOB, "out-1-1.png"), bytes(8 * PAGE), "image/png")
    assert entries(outputs) == [JOB, f"{JOB}/out-1-0.png"]


def test_no_room_for_one_more_file_is_the_same_clear_error(tmp_path: Path) -> None:
    """Out of inodes (ENOSPC at the folder's or the temp file's creation, not at the write)."""
    with tmpfs(tmp_path / "outputs", 256 * PAGE, inodes=3) as outputs:  # the root and two more
        storage = LocalOutputStorage(outputs)
        storage.put(output_key(JOB, "out-1-0.png"), b"png", "image/png")
        with pytest.raises(StorageFull, match="no space left on the output storage"):
            storage.put(output_key(OTHER, "out-1-0.png"), b"png", "image/png")
        with pytest.raises(StorageFull, match="no space left on the output storage"):
            storage.put(output_key(JOB, "out-1-1.png"), b"png", "image/png")
        assert entries(outputs) == [JOB, f"{JOB}/out-1-0.png"]


def test_the_guard_and_the_probe_measure_the_outputs_filesystem(
    outputs: Path, tmp_path: Path
) -> None:
    markers = ProbeMarkers(tmp_path / "probes")
    markers.loading()
    markers.ready()
    floor = 16 * PAGE
    markers.storage(outputs, floor)
    guard = DiskGuard(outputs, floor)
    folder = str(markers.folder)
    assert guard.check().ok and main(["ready", "--dir", folder]) == 0
    filler = fill(outputs, leave=8 * PAGE)
    assert free_bytes(outputs) == 8 * PAGE
    low = guard.check()
    assert not low.ok and "32.0 KiB free, below SDQ_MIN_FREE_DISK_BYTES (64.0 KiB)" in low.reason
    assert main(["ready", "--dir", folder]) == 1
    assert main(["started", "--dir", folder]) == 0  # the startup probe does not restart it
    filler.unlink()
    assert guard.check().ok and main(["ready", "--dir", folder]) == 0
