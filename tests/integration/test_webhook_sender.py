"""One delivery attempt to a real loopback receiver: guard at delivery time, pinning, signing."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import httpx
import pytest
from standardwebhooks import Webhook

from sdq.job import Job, JobStatus
from sdq.prediction import prediction
from sdq.settings import Settings
from sdq.ssrf import Resolver, system_resolver
from sdq.store.webhooks import Delivery, DeliveryAttempt
from tests.receiver import Receiver
from webhooks.retry_policy import Outcome, Verdict
from webhooks.sender import attempt_delivery, event_view

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def job(webhook: str) -> Job:
    now = time.time()
    return Job(
        id="a" * 26, model="sdq/tiny", input={"prompt": "x"}, status=JobStatus.SUCCEEDED,
        created_at=now, started_at=now, completed_at=now, attempt=1,
        output=["a" * 26 + "/out-1-0.png"], webhook=webhook, webhook_events_filter=["completed"],
    )  # fmt: skip


def attempt(
    target: Job,
    allow_private: bool,
    resolve: Resolver = system_resolver,
    link: Callable[[str], str] | None = None,
) -> tuple[DeliveryAttempt, Verdict]:
    settings = Settings(webhook_allow_private=allow_private, webhook_secret=SECRET)
    delivery = Delivery(id="msg_x_completed", event="completed", created_at=time.time())
    with httpx.Client() as http:
        return attempt_delivery(
            target, delivery, http=http, settings=settings, secret=SECRET, base_url="http://sdq",
            rng=random.Random(0), resolve=resolve, link=link,
        )  # fmt: skip


def test_private_target_is_refused_again_at_delivery_and_nothing_is_sent(
    receiver: Receiver,
) -> None:
    url = receiver.script("/hook", 200)
    record, verdict = attempt(job(url), allow_private=False)
    assert verdict.outcome is Outcome.GAVE_UP
    assert "loopback" in (record.error or "")
    assert receiver.requests == []


def test_connects_to_the_checked_address_with_the_original_host(receiver: Receiver) -> None:
    receiver.script("/hook", 200)
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:  # what DNS said when the guard asked
        asked.append(host)
        return ["127.0.0.1"]

    record, verdict = attempt(job(f"http://hooks.test:{receiver.port}/hook"), True, resolve)
    assert verdict.outcome is Outcome.DELIVERED
    assert asked == ["hooks.test"]  # resolved once, by the guard; the connection used its answer
    [request] = receiver.requests
    assert request.headers["host"] == f"hooks.test:{receiver.port}"
    payload = Webhook(SECRET).verify(request.body, request.headers)
    assert payload["id"] == "a" * 26 and payload["status"] == "succeeded"
    assert payload["output"] == ["http://sdq/v1/files/" + "a" * 26 + "/out-1-0.png"]
    assert record.status_code == 200


def test_redirects_are_not_followed(receiver: Receiver) -> None:
    url = receiver.script("/moved", (302, {"Location": f"http://127.0.0.1:{receiver.port}/else"}))
    _, verdict = attempt(job(url), allow_private=True)
    assert verdict.outcome is Outcome.RETRY
    assert [r.path for r in receiver.requests] == ["/moved"]


def test_a_failure_in_our_own_code_still_gives_an_attempt_and_a_verdict(
    receiver: Receiver,
) -> None:
    def broken_link(key: str) -> str:
        raise RuntimeError("the output store is misconfigured")

    record, verdict = attempt(job(receiver.script("/hook", 200)), True, link=broken_link)
    assert verdict.outcome is Outcome.RETRY and verdict.retry_in_s is not None
    assert record.status_code is None
    assert "internal error: RuntimeError: the output store is misconfigured" in (record.error or "")
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("header", "retry_in_s"),
    [("\u00b2", 5.0), ("7", 7.0), ("-1", 5.0), ("9" * 400, 86400.0), ("a day", 5.0)],
)
def test_any_retry_after_from_a_receiver_gives_a_verdict(
    receiver: Receiver, header: str, retry_in_s: float
) -> None:
    url = receiver.script("/busy", (429, {"Retry-After": header}))
    record, verdict = attempt(job(url), True)
    assert record.status_code == 429 and record.error is None
    assert verdict.outcome is Outcome.RETRY
    assert verdict.retry_in_s == pytest.approx(retry_in_s, rel=0.2)  # the schedule's 5 s +-20 %


@pytest.mark.parametrize(
    ("event", "status", "expected"),
    [
        ("start", "processing", True),
        ("completed", "succeeded", True),
        ("logs", None, False),
        ("output", None, False),
    ],
)
def test_event_view(event: str, status: str | None, expected: bool) -> None:
    view = event_view(job("http://x"), event)
    assert (view is not None) is expected
    if view is not None:
        rendered = prediction(view, "http://sdq")
        assert rendered["status"] == status
        if event == "start":
            assert rendered["output"] is None and rendered["completed_at"] is None
