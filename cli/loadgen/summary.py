"""The summary `hey` prints, from a bench's outcomes: total, slowest, fastest, average,
requests/s, a latency histogram, the 10-99 % latency distribution, status codes and errors."""

from __future__ import annotations

from collections import Counter
from typing import Any

from cli.loadgen.outcome import Outcome

PERCENTILES = (10, 25, 50, 75, 90, 95, 99)
HISTOGRAM_BUCKETS = 10


def percentile(ordered: list[float], p: int) -> float:
    """`hey`'s rule: the first latency at or past p % of the sorted list (index ceil(p·n/100)),
    so that the numbers match what a `hey` user is used to."""
    assert ordered, "no latencies"
    index = -(-p * len(ordered) // 100)
    return ordered[min(index, len(ordered) - 1)]


def histogram(ordered: list[float], buckets: int = HISTOGRAM_BUCKETS) -> list[tuple[float, int]]:
    """`hey`'s histogram: `buckets` + 1 marks from fastest to slowest, each with the count of
    latencies above the mark before it and at most this one."""
    if not ordered:
        return []
    fastest, slowest = ordered[0], ordered[-1]
    width = (slowest - fastest) / buckets
    marks = [fastest + width * i for i in range(buckets)] + [slowest]
    counts = [0] * len(marks)
    bucket = 0
    for latency in ordered:
        while latency > marks[bucket] and bucket < len(marks) - 1:
            bucket += 1
        counts[bucket] += 1
    return list(zip(marks, counts, strict=True))


def _round(seconds: float) -> float:
    return round(seconds, 4)


def summarize(outcomes: list[Outcome], total_s: float) -> dict[str, Any]:
    """The summary as JSON: latencies are those of requests that ended without an error
    (any status), requests/s counts every request sent, as `hey` does."""
    ordered = sorted(o.latency_s for o in outcomes if o.error is None)
    statuses = Counter(o.status for o in outcomes if o.status is not None)
    errors = Counter(o.error for o in outcomes if o.error is not None)
    summary: dict[str, Any] = {
        "requests": len(outcomes),
        "total_s": _round(total_s),
        "slowest_s": _round(ordered[-1]) if ordered else None,
        "fastest_s": _round(ordered[0]) if ordered else None,
        "average_s": _round(sum(ordered) / len(ordered)) if ordered else None,
        "requests_per_s": round(len(outcomes) / total_s, 4) if total_s > 0 else None,
        "histogram": [
            {"latency_s": _round(mark), "count": count} for mark, count in histogram(ordered)
        ],
        "percentiles": {str(p): _round(percentile(ordered, p)) for p in PERCENTILES}
        if ordered
        else {},
        "status_codes": {str(code): statuses[code] for code in sorted(statuses)},
        "errors": dict(errors.most_common()),
    }
    return summary
