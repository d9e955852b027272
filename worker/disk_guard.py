"""The worker's free-space guard: no job is claimed while the local output storage is short of
`SDQ_MIN_FREE_DISK_BYTES`, so the job waits for a worker that can save its images instead of
failing on this one's full disk."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sdq.disk_space import SpaceVerdict, free_bytes, space_verdict

log = logging.getLogger(__name__)


class DiskGuard:
    """Measures before each claim; logs when the verdict turns, not on every declined token."""

    def __init__(
        self,
        path: Path,
        min_free_bytes: int,
        measure: Callable[[Path], int | None] = free_bytes,
    ) -> None:
        self.path = path
        self.min_free_bytes = min_free_bytes
        self._measure = measure
        self._low = False

    def check(self) -> SpaceVerdict:
        verdict = space_verdict(self.path, self._measure(self.path), self.min_free_bytes)
        if not verdict.ok and not self._low:
            log.warning("taking no jobs: %s", verdict.reason)
        elif verdict.ok and self._low:
            log.info("taking jobs again: %s", verdict.reason)
        self._low = not verdict.ok
        return verdict
