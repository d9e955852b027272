"""The worker pod's probe verdicts, read off marker ages, and the markers the worker touches."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sdq.disk_space import SpaceVerdict
from worker.probes import MarkerAges, ProbeMarkers, alive_verdict, main, marker_ages, ready_verdict

STALE = 30.0
LOAD = 600.0


@pytest.mark.parametrize(
    ("loading", "ready", "alive", "ok", "reason"),
    [
        (5.0, None, None, False, "not loaded"),  # still loading
        (60.0, 50.0, 1.0, True, "model loaded"),
        (60.0, 50.0, 31.0, False, "no heartbeat tick"),  # wedged after load
        (None, 50.0, None, False, "no heartbeat tick"),
    ],
)
def test_ready(
    loading: float | None, ready: float | None, alive: float | None, ok: bool, reason: str
) -> None:
    verdict = ready_verdict(MarkerAges(loading, ready, alive), STALE)
    assert verdict.ok is ok
    assert reason in verdict.reason


ROOMY = SpaceVerdict(True, "600.0 MiB free on the output storage")
FULL = SpaceVerdict(False, "low space on the output storage (/data/outputs): 1.0 MiB free, …")


@pytest.mark.parametrize(
    ("ages", "space", "ok", "reason"),
    [
        (MarkerAges(60.0, 50.0, 1.0), None, True, "model loaded"),  # S3: nothing to measure
        (MarkerAges(60.0, 50.0, 1.0), ROOMY, True, "model loaded"),
        (MarkerAges(60.0, 50.0, 1.0), FULL, False, "low space on the output storage"),
        (MarkerAges(5.0, None, None), FULL, False, "not loaded"),  # the first cause first
        (MarkerAges(60.0, 50.0, 31.0), FULL, False, "no heartbeat tick"),
    ],
)
def test_ready_needs_room_for_outputs(
    ages: MarkerAges, space: SpaceVerdict | None, ok: bool, reason: str
) -> None:
    verdict = ready_verdict(ages, STALE, space)
    assert verdict.ok is ok
    assert reason in verdict.reason


def test_the_ready_probe_measures_the_recorded_outputs_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`started` (the startup probe) is the model and the heartbeat; `ready` also needs the
    floor of free space the worker recorded, measured at each call."""
    markers = ProbeMarkers(tmp_path / "probes")
    markers.loading()
    markers.ready()
    folder = str(markers.folder)
    outputs = tmp_path / "data" / "outputs"  # not created yet: its filesystem is measured
    markers.storage(outputs, 2**62)  # more than any disk here has
    assert main(["started", "--dir", folder]) == 0
    capsys.readouterr()
    assert main(["ready", "--dir", folder]) == 1
    said = capsys.readouterr().err
    assert f"low space on the output storage ({outputs})" in said
    assert "SDQ_MIN_FREE_DISK_BYTES" in said
    markers.storage(outputs, 1)
    assert main(["ready", "--dir", folder]) == 0
    markers.storage(None)  # outputs in S3
    assert main(["ready", "--dir", folder]) == 0


@pytest.mark.parametrize(
    ("loading", "ready", "alive", "ok", "reason"),
    [
        (100.0, 90.0, 2.0, True, "heartbeat 2.0 s ago"),
        (100.0, 90.0, 45.0, False, "last heartbeat 45 s ago"),  # the thread stopped ticking
        (20.0, None, 45.0, True, "loading the model for 20 s"),  # the child is reloading
        (700.0, None, 800.0, False, "still running after 600 s"),  # a reload that hangs
        (10.0, None, None, True, "loading the model"),  # first load
        (None, None, None, False, "no heartbeat yet"),
        (100.0, None, 45.0, False, "last heartbeat"),  # loading is older than the last tick
    ],
)
def test_alive(
    loading: float | None, ready: float | None, alive: float | None, ok: bool, reason: str
) -> None:
    verdict = alive_verdict(MarkerAges(loading, ready, alive), STALE, LOAD)
    assert verdict.ok is ok
    assert reason in verdict.reason


def _age(folder: Path, name: str, seconds: float) -> None:
    then = os.stat(folder / name).st_mtime - seconds
    os.utime(folder / name, (then, then))


def test_markers_over_a_workers_life(tmp_path: Path) -> None:
    markers = ProbeMarkers(tmp_path / "probes")
    assert main(["alive", "--dir", str(markers.folder)]) == 1
    markers.loading()
    assert main(["ready", "--dir", str(markers.folder)]) == 1
    assert main(["alive", "--dir", str(markers.folder)]) == 0
    markers.ready()
    assert main(["ready", "--dir", str(markers.folder)]) == 0
    _age(markers.folder, "loading", 100)
    _age(markers.folder, "alive", 40)
    assert main(["ready", "--dir", str(markers.folder), "--stale", "30"]) == 1
    assert main(["alive", "--dir", str(markers.folder), "--stale", "30"]) == 1
    markers.alive()
    markers.stopped()
    ages = marker_ages(markers.folder, os.stat(markers.folder / "alive").st_mtime)
    assert ages.ready is None and ages.alive == 0.0
    assert main(["ready", "--dir", str(markers.folder)]) == 1
    assert main(["alive", "--dir", str(markers.folder)]) == 0
