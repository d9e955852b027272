"""Process hygiene for children we start: their own session, death when the parent dies (Linux)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to SIGTERM this process when its parent exits (no-op off Linux)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def own_session_dying_with_parent() -> None:
    """`preexec_fn` for supervised children: a terminal's Ctrl-C reaches only the supervisor,
    which stops children in order; and a supervisor killed outright takes its children along."""
    os.setsid()
    die_with_parent()
