"""How many workers of a model one machine can run at once: one per visible GPU, one on CPU
(a CPU worker already uses every core), unlimited for synthetic models (they only sleep)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping

from sdq.settings import ModelKind


def visible_gpus(env: Mapping[str, str] | None = None) -> list[str]:
    """The GPU indices workers may use: CUDA_VISIBLE_DEVICES if set, else what `nvidia-smi -L`
    lists; none without an NVIDIA driver. (The scaler never imports torch.)"""
    env = os.environ if env is None else env
    chosen = env.get("CUDA_VISIBLE_DEVICES")
    if chosen is not None:
        return [d.strip() for d in chosen.split(",") if d.strip() and d.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listing = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(listing.splitlines()) if line.startswith("GPU ")]


def worker_slots(kind: ModelKind, device: str, gpus: int, override: int | None) -> int | None:
    """The most workers of one model this machine runs; None: no limit of its own."""
    if kind == "synthetic":
        return override
    if override is not None:
        return override
    if device != "cpu" and gpus > 0:
        return gpus
    return 1
