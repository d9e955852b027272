"""The lines `sdq demo` prints for a job's events: the state changes, and each quarter's step."""

from __future__ import annotations

from typing import Any

import pytest

from cli.job_progress import ProgressLines, describe

QUEUED = "queued (the scaler starts a worker for it if none is running)"


def progress(step: int, total: int = 20) -> tuple[str, dict[str, Any]]:
    return "progress", {"step": step, "total": total, "it_per_s": 2.0, "eta_s": 1.0}


@pytest.mark.parametrize(
    ("events", "lines"),
    [
        ([("queued", {"status": "queued"})], [QUEUED]),
        ([("queued", {"status": "queued", "queue_position": 3})], []),  # position updates
        ([("started", {"attempt": 2})], ["running (attempt 2)"]),
        ([progress(s) for s in range(1, 21)], [f"step {s}/20, 2.0 it/s" for s in (5, 10, 15, 20)]),
        ([progress(s, 3) for s in (1, 2, 3)], [f"step {s}/3, 2.0 it/s" for s in (1, 2, 3)]),
        ([progress(s, 1000) for s in range(1, 251)], ["step 250/1000, 2.0 it/s"]),
        ([("preview", {"step": 5}), ("output", {"output": []})], []),
        (  # a requeued job's second attempt counts its steps again
            [progress(10), ("requeued", {}), ("started", {"attempt": 2}), progress(5)],
            ["step 10/20, 2.0 it/s",
             "requeued: its worker stopped before it finished; it runs again",
             "running (attempt 2)", "step 5/20, 2.0 it/s"],
        ),
    ],
)  # fmt: skip
def test_lines_for_events(events: list[tuple[str, dict[str, Any]]], lines: list[str]) -> None:
    shown = ProgressLines()
    said = [line for kind, data in events if (line := shown.line(kind, data)) is not None]
    assert said == lines


@pytest.mark.parametrize(
    ("data", "line"),
    [
        ({"status": "queued", "model": "sdq/tiny"}, "queued"),
        ({"status": "queued", "queue_position": 0}, "queued: 0 jobs before it"),
        ({"status": "queued", "queue_position": 1}, "queued: 1 job before it"),
    ],
)
def test_sdq_submit_says_where_a_queued_job_stands(data: dict[str, Any], line: str) -> None:
    assert describe("queued", data) == line
