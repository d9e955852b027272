"""`sdq simulate --plot`: workers and queue over time, one panel per policy (matplotlib)."""

from __future__ import annotations

from pathlib import Path

from scaler.simulator import SimResult


def plot(results: list[SimResult], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(results), 1, sharex=True, figsize=(10, 2.6 * len(results)))
    panels = axes if len(results) > 1 else [axes]
    for ax, result in zip(panels, results, strict=True):
        times = [s.at for s in result.timeline]
        ax.step(times, [s.replicas for s in result.timeline], where="post", label="workers")
        ax.step(times, [s.busy for s in result.timeline], where="post", label="busy")
        ax.step(times, [s.queued for s in result.timeline], where="post", label="queued")
        summary = result.summary()
        ax.set_title(
            f"{result.policy}: total {summary['total_s']} s, p95 {summary['p95_s']} s, "
            f"GPU-s held {summary['gpu_held_s']}",
            fontsize=9,
        )
        ax.set_ylabel("count")
        ax.legend(loc="upper right", fontsize=8)
    panels[-1].set_xlabel("time (s)")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
