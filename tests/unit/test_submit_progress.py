"""The plain progress lines `sdq submit` prints off a terminal, one per stream event."""

from __future__ import annotations

from typing import Any

import pytest

from cli.job_progress import describe

PROGRESS = {"step": 3, "total": 20}


@pytest.mark.parametrize(
    ("kind", "data", "line"),
    [
        ("queued", {}, "queued"),
        ("started", {"attempt": 2}, "running (attempt 2)"),
        ("requeued", {"reason": "worker lost"}, "requeued (worker lost)"),
        (
            "progress",
            PROGRESS | {"it_per_s": 4.25, "eta_s": 4.0},
            "step 3/20 (4.2 it/s, ETA 4.0 s)",
        ),
        ("progress", PROGRESS | {"it_per_s": 4.0, "eta_s": None}, "step 3/20 (4.0 it/s)"),
        ("progress", PROGRESS | {"it_per_s": None, "eta_s": None}, "step 3/20"),
        ("preview", {"step": 3, "image": "data:…"}, None),
        ("output", {"output": []}, None),
        ("completed", {"status": "succeeded"}, None),
    ],
)
def test_one_line_per_event_worth_a_line(kind: str, data: dict[str, Any], line: str | None) -> None:
    assert describe(kind, data) == line
