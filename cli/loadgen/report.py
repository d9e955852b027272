"""The bench's summary as text: `hey`'s layout first, then what only sdq knows."""

from __future__ import annotations

from typing import Any

from cli.loadgen.sdq_facts import changes

BAR = "■"
BAR_WIDTH = 40
MOST_CHANGES_SHOWN = 12


def _secs(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f} secs"


def hey_text(summary: dict[str, Any]) -> list[str]:
    rate = summary["requests_per_s"]
    lines = [
        "Summary:",
        f"  Total:\t{_secs(summary['total_s'])}",
        f"  Slowest:\t{_secs(summary['slowest_s'])}",
        f"  Fastest:\t{_secs(summary['fastest_s'])}",
        f"  Average:\t{_secs(summary['average_s'])}",
        f"  Requests/sec:\t{'n/a' if rate is None else f'{rate:.4f}'}",
    ]
    buckets = summary["histogram"]
    if buckets:
        most = max(bucket["count"] for bucket in buckets)
        lines += ["", "Response time histogram:"]
        lines += [
            f"  {b['latency_s']:.3f} [{b['count']}]\t|{BAR * (b['count'] * BAR_WIDTH // most)}"
            for b in buckets
        ]
    if summary["percentiles"]:
        lines += ["", "Latency distribution:"]
        lines += [f"  {p}% in {s:.4f} secs" for p, s in summary["percentiles"].items()]
    if summary["status_codes"]:
        lines += ["", "Status code distribution:"]
        lines += [f"  [{code}]\t{n} responses" for code, n in summary["status_codes"].items()]
    if summary["errors"]:
        lines += ["", "Error distribution:"]
        lines += [f"  [{n}]\t{error}" for error, n in summary["errors"].items()]
    return lines


def _spread(spread: dict[str, float] | None) -> str:
    if spread is None:
        return "n/a"
    return (
        f"average {spread['average_s']:.4f} secs, p50 {spread['p50_s']:.4f}, "
        f"p95 {spread['p95_s']:.4f}, slowest {spread['slowest_s']:.4f}"
    )


def _over_time(timeline: list[list[float]]) -> str:
    shown = changes([(at_s, int(count)) for at_s, count in timeline])
    text = " → ".join(f"{count} at {at_s:g} s" for at_s, count in shown[:MOST_CHANGES_SHOWN])
    return text + (" → …" if len(shown) > MOST_CHANGES_SHOWN else "")


def sdq_text(facts: dict[str, Any], requests: int) -> list[str]:
    model = facts["model"] or "unknown"
    lines = [f"sdq (model {model}):"]
    if facts["split_missing"] is None:
        lines.append(f"  Predictions read:\t{facts['split_read']} of {requests}")
        lines.append(f"  Queue wait:\t{_spread(facts['queue_wait'])}")
        lines.append(f"  Predict time:\t{_spread(facts['predict_time'])}")
        lines.append(f"  Overhead:\t{_spread(facts['overhead'])} (latency - queue - predict)")
    else:
        lines.append(f"  Queue wait / predict time:\tn/a ({facts['split_missing']})")
    if facts["unfinished"]:
        lines.append(f"  Unfinished:\t{facts['unfinished']} predictions not finished when measured")
    cold = facts["cold_starts"]
    if cold["worker_starts"] is None:
        text = "n/a (no workers timeline)"
    else:
        text = f"{cold['worker_starts']} worker starts seen"
        if cold["requests_waited"] is not None:
            text += f"; {cold['requests_waited']} requests waited for one"
    lines.append(f"  Cold starts:\t{text}")
    workers = facts["workers"]
    if workers is None:
        lines.append(f"  Workers:\tn/a ({facts['workers_missing']})")
    else:
        lines.append(
            f"  Workers:\t{workers['start']} at the start, {workers['peak']} at the peak, "
            f"{workers['end']} at the end"
        )
        lines.append(f"  Workers over time:\t{_over_time(workers['timeline'])}")
    return lines


def report(document: dict[str, Any]) -> str:
    """The whole text: the run's description, `hey`'s summary, then sdq's facts."""
    head = [f"{document['dialect']} {document['url']}: {document['plan']}"]
    if document.get("interrupted"):
        head.append("Interrupted (Ctrl-C): requests in flight then are left out.")
    head.append("")
    body = hey_text(document["summary"])
    body += ["", *sdq_text(document["sdq"], document["summary"]["requests"])]
    return "\n".join(head + body) + "\n"
