"""`sdq bench --plot`: latency over time (a dot per request, by status) above the model's workers
over time (matplotlib, from the `plot` extra)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from cli.loadgen.outcome import Outcome, Sample

MISSING = "--plot needs matplotlib: pip install 'sdq[plot]' (or: pip install matplotlib)"


def can_plot() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def _label(outcome: Outcome) -> str:
    if outcome.status is not None and outcome.error is None:
        return str(outcome.status)
    return outcome.error or "no answer"


def plot(outcomes: list[Outcome], timeline: list[Sample], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, workers) = plt.subplots(
        2, 1, sharex=True, figsize=(10, 6), gridspec_kw={"height_ratios": [3, 1]}
    )
    for label in sorted({_label(o) for o in outcomes}):
        mine = [o for o in outcomes if _label(o) == label]
        failed = not label.isdigit() or not label.startswith("2")
        latency.scatter(
            [o.sent_s for o in mine],
            [o.latency_s for o in mine],
            s=14,
            marker="x" if failed else "o",
            label=f"{label} ({len(mine)})",
        )
    latency.set_ylabel("latency (s)")
    latency.set_ylim(0, max((o.latency_s for o in outcomes), default=1.0) * 1.1)
    latency.legend(loc="upper left", fontsize=8)
    latency.set_title(title, fontsize=9)
    if timeline:
        workers.step([t for t, _ in timeline], [n for _, n in timeline], where="post")
        workers.set_ylim(bottom=0, top=max(n for _, n in timeline) + 1)
    else:
        workers.text(
            0.5, 0.5, "workers: n/a", ha="center", va="center", transform=workers.transAxes
        )
    workers.set_ylabel("workers")
    workers.set_xlabel("time since the start (s); a dot is placed at its request's send time")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
