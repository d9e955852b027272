"""A job's progress from its server-sent events: one line per event (`sdq submit`), or a few
lines, the state changes and each quarter of the steps (`sdq demo`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cli.client import SdqClient

Event = tuple[str, dict[str, Any]]


def queue_place(data: dict[str, Any]) -> str | None:
    """A queue position update's words ("queued: 2 jobs before it"); None for other events."""
    position = data.get("queue_position")
    if position is None:
        return None
    return f"queued: {position} job{'' if position == 1 else 's'} before it"


def describe(kind: str, data: dict[str, Any]) -> str | None:
    """One progress line for an event of the prediction's stream (None: nothing worth a line)."""
    if kind == "queued":
        return queue_place(data) or "queued"
    if kind == "started":
        return f"running (attempt {data['attempt']})"
    if kind == "requeued":
        return f"requeued ({data.get('reason', 'worker lost')})"
    if kind == "progress":
        rate = data.get("it_per_s")
        eta = data.get("eta_s")
        details = [f"{rate:.1f} it/s" if rate is not None else None]
        details.append(f"ETA {eta:.1f} s" if eta is not None else None)
        shown = ", ".join(d for d in details if d)
        return f"step {data['step']}/{data['total']}" + (f" ({shown})" if shown else "")
    return None


@dataclass
class ProgressLines:
    """Pure: the line worth printing for each event, or None (most progress events)."""

    quarters_shown: int = 0

    def line(self, kind: str, data: dict[str, Any]) -> str | None:
        if kind == "queued" and "queue_position" not in data:
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
    client: SdqClient, prediction: dict[str, Any], show: Callable[[Event], None]
) -> dict[str, Any]:
    """Show each event of the job's stream, `completed` included; the final prediction."""
    for event in client.stream(prediction):
        show(event)
        kind, data = event
        if kind == "completed":
            return data
    return client.get(prediction["id"])


def say_quarters(say: Callable[[str], None]) -> Callable[[Event], None]:
    """A `show` for `follow_job` that says only the lines `ProgressLines` keeps."""
    lines = ProgressLines()

    def show(event: Event) -> None:
        line = lines.line(*event)
        if line is not None:
            say(line)

    return show
