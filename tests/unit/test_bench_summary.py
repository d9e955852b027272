"""`sdq bench`'s summary, as tables: `hey`'s percentiles, histogram and counts; sdq's queue wait
against predict time, cold starts and workers; and the text they are printed as."""

from __future__ import annotations

from typing import Any

import pytest

from cli.loadgen.outcome import Outcome, Sample
from cli.loadgen.report import report
from cli.loadgen.sdq_facts import sdq_facts, waited_for_a_start, worker_starts
from cli.loadgen.summary import histogram, percentile, summarize

TEN = [float(x) for x in range(1, 11)]


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        (TEN, 10, 2.0),  # hey: the first value at or past p % of the sorted list
        (TEN, 50, 6.0),
        (TEN, 90, 10.0),
        (TEN, 99, 10.0),
        ([4.0], 99, 4.0),
        ([float(x) for x in range(100)], 95, 95.0),
    ],
)
def test_percentiles_follow_hey(values: list[float], p: int, expected: float) -> None:
    assert percentile(values, p) == expected


@pytest.mark.parametrize(
    ("values", "buckets", "expected"),
    [
        ([], 10, []),
        ([1.0, 1.0], 2, [(1.0, 2), (1.0, 0), (1.0, 0)]),
        ([0.0, 1.0, 2.0, 3.0, 4.0], 4, [(0.0, 1), (1.0, 1), (2.0, 1), (3.0, 1), (4.0, 1)]),
        ([0.0, 0.5, 0.6, 4.0], 2, [(0.0, 1), (2.0, 2), (4.0, 1)]),
    ],
)
def test_histogram_marks_from_fastest_to_slowest(
    values: list[float], buckets: int, expected: list[tuple[float, int]]
) -> None:
    assert histogram(values, buckets) == expected
    assert sum(count for _, count in histogram(values, buckets)) == len(values)


def ok(sent_s: float, latency_s: float, **extra: Any) -> Outcome:
    return Outcome(sent_s=sent_s, latency_s=latency_s, status=200, **extra)


OUTCOMES = [
    ok(0.0, 2.0),
    ok(0.1, 4.0),
    Outcome(sent_s=0.2, latency_s=0.5, status=503),
    Outcome(sent_s=0.3, latency_s=180.0, error="timeout"),
]


def test_summary_counts_like_hey() -> None:
    summary = summarize(OUTCOMES, total_s=8.0)
    assert summary["requests"] == 4
    assert summary["requests_per_s"] == 0.5  # every request sent
    # Latencies: the requests that got an answer (any status), not the timed-out one.
    assert (summary["fastest_s"], summary["slowest_s"], summary["average_s"]) == (0.5, 4.0, 2.1667)
    assert summary["percentiles"] == {
        "10": 2.0, "25": 2.0, "50": 4.0, "75": 4.0, "90": 4.0, "95": 4.0, "99": 4.0
    }  # fmt: skip
    assert summary["status_codes"] == {"200": 2, "503": 1}
    assert summary["errors"] == {"timeout": 1}
    assert sum(b["count"] for b in summary["histogram"]) == 3


def test_a_run_without_answers_has_no_latencies() -> None:
    summary = summarize([Outcome(sent_s=0, latency_s=0.01, error="ConnectError")], total_s=0.01)
    assert (summary["slowest_s"], summary["percentiles"], summary["histogram"]) == (None, {}, [])
    assert summary["errors"] == {"ConnectError": 1}


FROM_ZERO: list[Sample] = [(0.0, 0), (1.0, 0), (2.0, 0), (3.0, 2), (4.0, 2), (5.0, 3), (6.0, 1)]


def test_worker_starts_are_the_rises_between_samples() -> None:
    assert worker_starts(FROM_ZERO) == [(2.0, 3.0, 2, True), (4.0, 5.0, 1, False)]
    assert worker_starts([(0.0, 4)]) == []


@pytest.mark.parametrize(
    ("sent_s", "queue_wait_s", "waited"),
    [
        (0.01, 2.6, True),  # from zero: queued before the rise, taken by the new worker
        (1.5, 1.2, True),  # queued at the 2 s sample (0 workers), started after it
        (0.01, 3.9, True),  # taken within a sampling interval of the rise being seen
        (0.01, 5.5, True),  # queued across the second rise (4 s: 2 workers, 5 s: 3)
        (0.01, 4.5, True),  # queued at the 4 s sample (2 workers), started as the third came
        (0.01, 6.5, True),  # queued while none was live: it waited for a start, then its turn
        (3.5, 3.0, False),  # queued across the second rise but started past its slack: busy workers
        (2.5, 0.1, False),  # sent and started between two samples: no rise seen across it
        (3.5, 0.2, False),  # no rise then
        (0.01, None, False),  # no queue wait known
    ],
)
def test_a_request_waited_for_a_start_when_queued_across_a_rise(
    sent_s: float, queue_wait_s: float | None, waited: bool
) -> None:
    outcome = ok(sent_s, 3.0, queue_wait_s=queue_wait_s, predict_time_s=1.0)
    assert waited_for_a_start(outcome, worker_starts(FROM_ZERO)) is waited


def test_a_rise_after_the_first_sample_counts_for_the_first_requests() -> None:
    starts = worker_starts([(0.0, 0), (1.0, 1)])
    assert waited_for_a_start(ok(0.02, 1.0, queue_wait_s=0.8, predict_time_s=0.2), starts)


SPLIT = [
    ok(0.0, 3.0, queue_wait_s=2.5, predict_time_s=0.4, finished=True, prediction_id="a"),
    ok(0.0, 3.1, queue_wait_s=2.6, predict_time_s=0.4, finished=True, prediction_id="b"),
    ok(3.0, 0.5, queue_wait_s=0.0, predict_time_s=0.4, finished=True, prediction_id="c"),
]


def test_sdq_facts_split_latency_and_count_cold_starts() -> None:
    facts = sdq_facts(SPLIT, FROM_ZERO, "sdq/synthetic")
    assert facts["model"] == "sdq/synthetic" and facts["split_missing"] is None
    assert facts["split_read"] == 3 and facts["unfinished"] == 0
    assert facts["queue_wait"] == {"average_s": 1.7, "p50_s": 2.6, "p95_s": 2.6, "slowest_s": 2.6}
    assert facts["predict_time"]["average_s"] == 0.4
    assert facts["overhead"]["slowest_s"] == pytest.approx(0.1)
    assert facts["cold_starts"] == {"worker_starts": 3, "requests_waited": 2}
    assert facts["workers"] == {
        "start": 0, "peak": 3, "end": 1, "timeline": [[t, n] for t, n in FROM_ZERO]
    }  # fmt: skip
    assert facts["workers_missing"] is None


@pytest.mark.parametrize(
    ("outcomes", "no_split", "missing"),
    [
        ([ok(0, 1.0, finished=False, prediction_id="a")], "submit only", "submit only"),
        ([ok(0, 1.0)], None, "no answer named an sdq prediction"),
        ([ok(0, 1.0, finished=True, prediction_id="a")], None,
         "the predictions the answers named could not be read"),
    ],
)  # fmt: skip
def test_sdq_facts_say_why_there_is_no_split(
    outcomes: list[Outcome], no_split: str | None, missing: str
) -> None:
    facts = sdq_facts(outcomes, [], None, no_split=no_split, no_workers="GET /v1/models: 404")
    assert facts["split_missing"] == missing
    assert facts["queue_wait"] is None and facts["overhead"] is None
    assert facts["cold_starts"] == {"worker_starts": None, "requests_waited": None}
    assert (facts["workers"], facts["workers_missing"]) == (None, "GET /v1/models: 404")


def test_the_report_reads_like_hey_then_sdq() -> None:
    document = {
        "dialect": "a1111",
        "url": "http://127.0.0.1:7860/sdapi/v1/txt2img",
        "plan": "3 requests, 1 client (closed loop)",
        "summary": summarize(SPLIT, total_s=6.6),
        "sdq": sdq_facts(SPLIT, FROM_ZERO, "sdq/synthetic"),
    }
    text = report(document)
    for line in (
        "Summary:",
        "  Total:\t6.6000 secs",
        "  Requests/sec:\t0.4545",
        "Response time histogram:",
        "  3.100 [2]\t|■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■",
        "  99% in 3.1000 secs",
        "  [200]\t3 responses",
        "sdq (model sdq/synthetic):",
        "  Predictions read:\t3 of 3",
        "  Queue wait:\taverage 1.7000 secs, p50 2.6000, p95 2.6000, slowest 2.6000",
        "  Cold starts:\t3 worker starts seen; 2 requests waited for one",
        "  Workers:\t0 at the start, 3 at the peak, 1 at the end",
        "  Workers over time:\t0 at 0 s → 2 at 3 s → 3 at 5 s → 1 at 6 s",
    ):
        assert line in text.splitlines(), line
    assert "Error distribution" not in text
