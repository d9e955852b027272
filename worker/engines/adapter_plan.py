"""Which LoRA adapters a worker loads and unloads for a job (pure): the job's are kept or loaded,
the least recently used others unloaded past the cache's capacity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class AdapterPlan:
    load: tuple[str, ...]  # in the job's order
    unload: tuple[str, ...]  # least recently used first
    held: tuple[str, ...]  # afterwards, least recently used first


def plan_adapters(held: Sequence[str], wanted: Sequence[str], capacity: int) -> AdapterPlan:
    """`held` least recently used first; the job's `wanted` become the most recently used. Only
    adapters the job does not use are unloaded, so a job asking for more than `capacity` (a
    setting the worker refuses at start) would still get them all."""
    load = tuple(key for key in wanted if key not in held)
    kept = [key for key in held if key not in wanted]
    excess = max(0, len(kept) + len(wanted) - capacity)
    unload, kept = tuple(kept[:excess]), kept[excess:]
    return AdapterPlan(load, unload, (*kept, *wanted))
