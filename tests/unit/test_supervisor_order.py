"""The supervisor stops `stop_last` children (the embedded Redis) only after every other child has
exited (real child processes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cli.supervisor import ProcessSpec, Supervisor
from tests.helpers import wait_until

# On SIGTERM: wait a little (a worker finishing its image), then note the exit and leave.
CHILD = """
import signal, sys, time
def leave(*_):
    time.sleep(float(sys.argv[2]))
    with open(sys.argv[1], "a") as out:
        out.write(sys.argv[3] + "\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, leave)
open(sys.argv[1] + "." + sys.argv[3], "w").close()
while True:
    time.sleep(0.05)
"""


def spec(name: str, record: Path, linger_s: float, stop_last: bool = False) -> ProcessSpec:
    """A child whose `ready` check waits until it handles SIGTERM."""

    def ready(process: subprocess.Popen[bytes]) -> None:
        wait_until(lambda: Path(f"{record}.{name}").exists(), 30, f"{name} to start")

    argv = [sys.executable, "-c", CHILD, str(record), str(linger_s), name]
    return ProcessSpec(name, argv, ready=ready, stop_last=stop_last)


def test_stop_last_children_stop_after_every_other_one_has_exited(tmp_path: Path) -> None:
    record = tmp_path / "exits"
    supervisor = Supervisor(
        [
            spec("redis", record, 0.0, stop_last=True),
            spec("api", record, 0.3),
            spec("scaler", record, 0.6),
        ],
        {},
    )
    try:
        supervisor.start()  # each one ready before the next starts
    finally:
        supervisor.stop(grace_s=30)
    assert record.read_text().split() in (["api", "scaler", "redis"], ["scaler", "api", "redis"])
