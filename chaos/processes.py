"""`sdq up`'s children by kind (found with psutil), and SIGKILLing one of them."""

from __future__ import annotations

import random
import signal

import psutil

from chaos.plan import KINDS, Kind


def kind_of(process: psutil.Process) -> Kind | None:
    """Which of the stack's processes this is: redis-server, or `python -m cli <kind>` (a
    worker's pool child, a fork with its parent's command line, counts with its parent)."""
    if "redis-server" in process.name():
        return "redis"
    argv = process.cmdline()
    if "cli" not in argv or argv.index("cli") + 1 >= len(argv):
        return None
    named = str(argv[argv.index("cli") + 1])
    kind = next((kind for kind in KINDS if kind == named), None)
    parent = process.parent()
    if kind == "worker" and parent is not None and "worker" in parent.cmdline():
        return None
    return kind


def running(up_pid: int, kind: Kind) -> list[psutil.Process]:
    """The live processes of `kind` under `sdq up`, oldest pid first."""
    found = []
    for child in psutil.Process(up_pid).children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and kind_of(child) == kind:
                found.append(child)
        except psutil.Error:
            continue
    return sorted(found, key=lambda p: p.pid)


def kill_one(up_pid: int, kind: Kind, rng: random.Random) -> int | None:
    """SIGKILL one live process of `kind`; its pid, or None when none was running."""
    candidates = running(up_pid, kind)
    if not candidates:
        return None
    victim = rng.choice(candidates)
    try:
        victim.send_signal(signal.SIGKILL)
    except psutil.NoSuchProcess:
        return None
    return int(victim.pid)
