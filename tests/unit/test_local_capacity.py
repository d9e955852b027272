"""One machine's worker slots per model, and which GPUs it sees."""

from __future__ import annotations

import pytest

from scaler.local_capacity import visible_gpus, worker_slots


@pytest.mark.parametrize(
    ("kind", "device", "gpus", "override", "slots"),
    [
        ("diffusers", "auto", 0, None, 1),  # CPU: one worker already uses every core
        ("diffusers", "cpu", 4, None, 1),
        ("diffusers", "auto", 4, None, 4),  # one per GPU
        ("diffusers", "cuda", 2, None, 2),
        ("diffusers", "auto", 0, 3, 3),  # the operator's word
        ("synthetic", "auto", 0, None, None),  # sleeps: no limit of its own
        ("synthetic", "auto", 0, 6, 6),
    ],
)
def test_worker_slots(
    kind: str, device: str, gpus: int, override: int | None, slots: int | None
) -> None:
    assert worker_slots(kind, device, gpus, override) == slots  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "gpus"), [("0,1", ["0", "1"]), ("", []), ("-1", []), ("2", ["2"])]
)
def test_cuda_visible_devices_decides_when_set(value: str, gpus: list[str]) -> None:
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": value}) == gpus


def test_no_driver_no_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert visible_gpus({}) == []
