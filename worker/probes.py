"""Kubernetes probes for a worker pod: marker files the worker touches, the verdicts read off them.

The worker touches `loading` when its pool child starts loading the model, `ready` once the model
can serve, and `alive` on every heartbeat that reached Redis while the broker watch finds the
broker healthy; with local output storage it also writes `storage`: the outputs folder and its
free-space floor. `python -m worker.probes started|ready|alive` reads them (the standard library
and `sdq.disk_space` only, so an exec probe costs an interpreter start, not an import of torch):

- started: the model is loaded and the heartbeat ticked recently (the startup probe).
- ready: started, and the output storage has at least its floor of free space; below it the
  worker claims no job (worker/disk_guard.py) and the probe says why.
- alive: the heartbeat ticked recently, or the child is (re)loading the model within its budget.
  A worker cut off from Redis, or whose consumer takes no work while work waits, stops ticking;
  it also exits by itself within a minute (worker/broker_watch.py), which is what normally
  restarts it: the probe is the backstop for a process too stuck to do even that.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sdq.disk_space import SpaceVerdict, free_bytes, space_verdict

LOADING = "loading"
READY = "ready"
ALIVE = "alive"
STORAGE = "storage"
DIR_ENV = "SDQ_PROBE_DIR"


class ProbeMarkers:
    """The worker's side: touches and removes the marker files in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def loading(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / READY).unlink(missing_ok=True)
        (self.folder / LOADING).touch()

    def ready(self) -> None:
        self.alive()
        (self.folder / READY).touch()

    def alive(self) -> None:
        (self.folder / ALIVE).touch()

    def storage(self, path: Path | None, min_free_bytes: int = 0) -> None:
        """The local outputs folder whose free space the ready probe measures (None: outputs
        go elsewhere, nothing to measure)."""
        if path is None:
            (self.folder / STORAGE).unlink(missing_ok=True)
            return
        record = {"path": str(path.absolute()), "min_free_bytes": min_free_bytes}
        (self.folder / STORAGE).write_text(json.dumps(record))

    def stopped(self) -> None:
        """A worker shutting down takes no new work: not ready any more (still alive)."""
        (self.folder / READY).unlink(missing_ok=True)


@dataclass(frozen=True)
class MarkerAges:
    """Seconds since each marker was touched; None when it does not exist."""

    loading: float | None
    ready: float | None
    alive: float | None


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str


def ready_verdict(ages: MarkerAges, stale_s: float, space: SpaceVerdict | None = None) -> Verdict:
    """Serving: the model is loaded, the heartbeat is fresh and (when `space` is given) the
    output storage has room; without `space`, the startup probe's verdict."""
    if ages.ready is None:
        return Verdict(False, "the model is not loaded yet")
    if ages.alive is None or ages.alive > stale_s:
        return Verdict(False, f"no heartbeat tick within {stale_s:g} s")
    if space is not None and not space.ok:
        return Verdict(False, space.reason)
    return Verdict(True, f"model loaded, heartbeat {ages.alive:.1f} s ago")


def alive_verdict(ages: MarkerAges, stale_s: float, load_timeout_s: float) -> Verdict:
    """Not wedged: a fresh heartbeat, or a model (re)load started after the last tick and still
    within its budget."""
    if ages.alive is not None and ages.alive <= stale_s:
        return Verdict(True, f"heartbeat {ages.alive:.1f} s ago")
    reloading = ages.loading is not None and (ages.alive is None or ages.loading < ages.alive)
    if reloading and ages.loading is not None:
        if ages.loading <= load_timeout_s:
            return Verdict(True, f"loading the model for {ages.loading:.0f} s")
        return Verdict(False, f"model load still running after {load_timeout_s:g} s")
    if ages.alive is None:
        return Verdict(False, "no heartbeat yet")
    return Verdict(False, f"last heartbeat {ages.alive:.0f} s ago (limit {stale_s:g} s)")


def marker_ages(folder: Path, now: float) -> MarkerAges:
    def age(name: str) -> float | None:
        try:
            return max(0.0, now - (folder / name).stat().st_mtime)
        except FileNotFoundError:
            return None

    return MarkerAges(loading=age(LOADING), ready=age(READY), alive=age(ALIVE))


def storage_space(folder: Path) -> SpaceVerdict | None:
    """The free-space verdict on the outputs folder the worker recorded; None without a record
    (S3 storage, or a worker that has not started)."""
    try:
        record = json.loads((folder / STORAGE).read_text())
        path, min_free = Path(record["path"]), int(record["min_free_bytes"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return space_verdict(path, free_bytes(path), min_free)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker.probes", description=__doc__)
    parser.add_argument("probe", choices=["started", "ready", "alive"])
    parser.add_argument(
        "--dir", type=Path, default=Path(os.environ.get(DIR_ENV, "/tmp/sdq-probes"))
    )
    parser.add_argument("--stale", type=float, default=30.0, help="heartbeat age limit, seconds")
    parser.add_argument("--load-timeout", type=float, default=600.0, help="model load budget")
    args = parser.parse_args(argv)
    ages = marker_ages(args.dir, time.time())
    if args.probe == "started":
        verdict = ready_verdict(ages, args.stale)
    elif args.probe == "ready":
        verdict = ready_verdict(ages, args.stale, storage_space(args.dir))
    else:
        verdict = alive_verdict(ages, args.stale, args.load_timeout)
    print(verdict.reason, file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
