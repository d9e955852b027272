"""Liveness of a long-running loop (the scaler's rounds, the webhook pump): the loop touches a
marker file each round, and `python -m sdq.loop_probe NAME --stale S` fails once it has not for
S seconds, so Kubernetes restarts a hung process, not only a crashed one (standard library only:
an exec probe costs an interpreter start)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

DIR_ENV = "SDQ_PROBE_DIR"


class LoopMarker:
    """The loop's side: `tick()` each round (nothing without a probe folder)."""

    def __init__(self, folder: Path | None, name: str) -> None:
        self.path = folder / name if folder is not None else None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def tick(self) -> None:
        if self.path is not None:
            with contextlib.suppress(OSError):  # a full /tmp must not stop the loop itself
                self.path.touch()


def verdict(name: str, age_s: float | None, stale_s: float) -> tuple[bool, str]:
    """Whether the loop is alive, and why (pure)."""
    if age_s is None:
        return False, f"{name}: no round recorded yet"
    if age_s > stale_s:
        return False, f"{name}: last round {age_s:.0f} s ago (more than {stale_s:.0f} s): hung"
    return True, f"{name}: last round {age_s:.1f} s ago"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sdq.loop_probe", description=__doc__)
    parser.add_argument("name", help="the loop's marker: scaler, webhook-pump")
    parser.add_argument("--stale", type=float, default=60.0, help="seconds without a round")
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get(DIR_ENV, ".")))
    args = parser.parse_args(argv)
    marker = args.dir / args.name
    try:
        age: float | None = time.time() - marker.stat().st_mtime
    except FileNotFoundError:
        age = None
    alive, why = verdict(args.name, age, args.stale)
    print(why, file=sys.stdout if alive else sys.stderr)
    return 0 if alive else 1


if __name__ == "__main__":
    raise SystemExit(main())
