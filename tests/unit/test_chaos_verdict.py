"""The chaos soak's verdict: lost jobs, output sets and webhooks judged from what was observed."""

from __future__ import annotations

from typing import Any

import pytest

from chaos.plan import Dialect, JobSpec
from chaos.verdict import Delivery, Final, Observations, judge, output_problem, webhook_problem

OK = Final("succeeded", None, ("out-1-0.png",))
A1, A2 = "out-1-0.png", "out-2-0.png"
TWO_SETS = f"outputs of 2 attempts stored: {[A1, A2]}"


def job(index: int, dialect: Dialect = "native") -> JobSpec:
    return JobSpec(index, dialect, 0.0, 4, f"job {index}")


def seen(
    final: Final | None,
    files: tuple[str, ...] = ("out-1-0.png",),
    hooks: list[Delivery] | None = None,
    dialect: Dialect = "native",
) -> Observations:
    return Observations(
        jobs=(job(0, dialect),),
        accepted={0: "p0"},
        refused={},
        final={"p0": final} if final else {},
        files={"p0": files},
        completed_webhooks={"p0": [Delivery("msg_1", "succeeded")] if hooks is None else hooks},
    )


@pytest.mark.parametrize(
    ("final", "files", "problem"),
    [
        (OK, ("out-1-0.png",), None),
        (Final("succeeded", None, ("out-3-0.png", "out-3-1.png")), ("out-3-1.png", "out-3-0.png"),
         None),
        (OK, ("out-1-0.png", "input.png"), None),  # a starting image is no output
        (OK, (A1, A2), TWO_SETS),
        (OK, (), "prediction names ['out-1-0.png'], storage holds []"),
        (Final("succeeded", None, (A2,)), (A1,), f"prediction names {[A2]}, storage holds {[A1]}"),
        (Final("succeeded"), (), "succeeded without outputs"),
    ],
)  # fmt: skip
def test_a_succeeded_job_stores_exactly_the_one_set_it_names(
    final: Final, files: tuple[str, ...], problem: str | None
) -> None:
    assert output_problem(final, files) == problem


@pytest.mark.parametrize(
    ("deliveries", "final", "problem"),
    [
        ([Delivery("msg_1", "succeeded")], OK, None),
        ([Delivery("msg_1", "succeeded")] * 3, OK, None),  # duplicates, one webhook-id
        ([], OK, "no completed webhook"),
        ([Delivery("msg_1", "succeeded"), Delivery("msg_2", "succeeded")], OK,
         "2 completed webhooks with 2 webhook-ids: ['msg_1', 'msg_2']"),
        ([Delivery("msg_1", "failed")], OK,
         "completed webhook says failed, the prediction succeeded"),
        ([Delivery("msg_1", "failed")], Final("failed", "boom"), None),
    ],
)  # fmt: skip
def test_at_least_one_completed_webhook_and_duplicates_share_their_id(
    deliveries: list[Delivery], final: Final, problem: str | None
) -> None:
    assert webhook_problem(deliveries, final) == problem


@pytest.mark.parametrize(
    ("observed", "expected"),
    [
        (seen(OK), {"ok": True, "succeeded": 1, "lost": {}, "problems": []}),
        (seen(Final("running")),
         {"ok": False, "lost": {"p0": "running"}, "problems": ["lost: p0 is running"]}),
        (seen(None), {"ok": False, "lost": {"p0": "unreadable"}}),
        (seen(Final("failed", "lost 3 attempts"), files=(), hooks=[Delivery("m", "failed")]),
         {"ok": True, "failed": 1, "failure_reasons": {"lost 3 attempts": 1}}),
        (seen(OK, files=(A1, A2)), {"ok": False, "problems": [f"outputs of p0: {TWO_SETS}"]}),
        (seen(OK, hooks=[]), {"ok": False, "problems": ["webhooks of p0: no completed webhook"]}),
        # An A1111 or OpenAI job asks for no webhook.
        (seen(OK, hooks=[], dialect="a1111"), {"ok": True, "completed_webhooks": 0}),
        (seen(OK, hooks=[Delivery("m", "succeeded")] * 2), {"ok": True, "completed_webhooks": 2}),
    ],
)  # fmt: skip
def test_the_report_fails_on_a_lost_job_a_second_output_set_or_a_missing_webhook(
    observed: Observations, expected: dict[str, Any]
) -> None:
    report = judge(observed)
    assert {key: report[key] for key in expected} == expected


def test_jobs_never_acknowledged_are_reported_but_not_lost() -> None:
    hooks = {"p0": [Delivery("m", "succeeded")]}
    observed = Observations(
        (job(0), job(1, "openai")), {0: "p0"}, {1: "gave up"}, {"p0": OK}, {"p0": (A1,)}, hooks
    )
    report = judge(observed)
    assert (report["accepted"], report["not_accepted"], report["lost"]) == (1, {"1": "gave up"}, {})
    assert report["accepted_by_dialect"] == {"native": 1}


@pytest.mark.parametrize(
    ("predictions", "problems"),
    [
        ({0: 1}, []),
        ({}, []),
        ({0: 2}, ["job 0 made 2 predictions (one Idempotency-Key)"]),
    ],
)
def test_a_second_prediction_for_one_job_is_a_duplicate(
    predictions: dict[int, int], problems: list[str]
) -> None:
    observed = seen(OK)
    observed.predictions = predictions
    assert judge(observed)["problems"] == problems


@pytest.mark.parametrize(
    ("outputs", "retried"), [(("out-1-0.png",), 0), (("out-3-0.png",), 1), ((), 0)]
)
def test_a_job_that_succeeded_on_a_later_attempt_is_counted(
    outputs: tuple[str, ...], retried: int
) -> None:
    report = judge(seen(Final("succeeded", None, outputs), files=outputs))
    assert report["succeeded_after_a_lost_attempt"] == retried
