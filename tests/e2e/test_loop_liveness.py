"""A real scaler and a real webhook sender touch their loop's marker each round; the probe that
Kubernetes runs passes while they go round and fails once one is frozen (SIGSTOP: hung, not
crashed), and passes again when it resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import Stack, start, stop, wait_until

STALE_S = "2"


def probe(folder: Path, marker: str) -> int:
    command = [sys.executable, "-m", "sdq.loop_probe", marker, "--stale", STALE_S]
    return subprocess.run([*command, "--dir", str(folder)], capture_output=True).returncode


@pytest.mark.parametrize(
    ("argv", "marker"), [(["scaler"], "scaler"), (["webhooks"], "webhook-pump")]
)
def test_a_frozen_loop_fails_its_probe_and_a_running_one_passes(
    api: Stack, tmp_path: Path, argv: list[str], marker: str
) -> None:
    folder = tmp_path / "probes"
    env = api.env | {"SDQ_PROBE_DIR": str(folder), "SDQ_SCALER_POLL_INTERVAL_S": "0.5"}
    process = start(argv, env, tmp_path / f"{marker}.log")
    try:
        wait_until(lambda: probe(folder, marker) == 0, 60, f"the {marker} loop to go round")
        os.kill(process.pid, signal.SIGSTOP)
        try:
            wait_until(lambda: probe(folder, marker) == 1, 30, "the probe to see it hung")
        finally:
            os.kill(process.pid, signal.SIGCONT)
        wait_until(lambda: probe(folder, marker) == 0, 30, f"the {marker} loop to resume")
    finally:
        stop(process)
