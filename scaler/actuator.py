"""The actuator seam: what the loop needs from whatever runs the workers (processes, Kubernetes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Replicas:
    current: int
    ready: int


class Actuator(Protocol):
    def replicas(self, model_id: str) -> Replicas:
        """How many workers the model has now, and how many of them are ready."""
        ...

    def scale(self, model_id: str, desired: int, busy_worker_ids: frozenset[str]) -> None:
        """Make it `desired`; when removing, never a worker whose id is in `busy_worker_ids`."""
        ...

    def capacity(self, model_id: str) -> int | None:
        """The most workers it can run for the model (a machine's GPUs); None: no own limit."""
        ...
