"""One job's progress as a few plain lines (what `sdq demo` prints): queued, running, each
quarter of its steps; read from the prediction's server-sent events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cli.client import SdqClient


@dataclass
class ProgressLines:
    """Pure: the line worth printing for each event, or None (most progress events)."""

    quarters_shown: int = 0

    def line(self, kind: str, data: dict[str, Any]) -> str | None:
        if kind == "queued":
            return "queued (the scaler starts a worker for it if none is running)"
        if kind == "started":
            self.quarters_shown = 0
            return f"running (attempt {data.get('attempt', 1)})"
        if kind == "requeued":
            return "requeued: its worker stopped before it finished; it runs again"
        if kind == "progress":
            step, total = int(data["step"]), max(1, int(data["total"]))
            quarter = 4 * step // total
            if quarter > self.quarters_shown:
                self.quarters_shown = quarter
                return f"step {step}/{total}, {float(data['it_per_s']):.1f} it/s"
        return None


def follow_job(
    client: SdqClient, prediction: dict[str, Any], say: Callable[[str], None]
) -> dict[str, Any]:
    """Say the job's progress until it ends; the final prediction."""
    lines = ProgressLines()
    for kind, data in client.stream(prediction):
        if kind == "completed":
            return data
        line = lines.line(kind, data)
        if line is not None:
            say(line)
    return client.get(prediction["id"])
