"""Where and when the CLI's client resumes a cut event stream, and when it gives up (pure)."""

from __future__ import annotations

import pytest

from cli.client import StreamResume


def test_it_resumes_from_the_last_event_after_the_servers_retry() -> None:
    resume = StreamResume()
    assert resume.headers() == {}
    resume.seen("1-0", None, True)
    resume.seen(None, 750, False)  # a parting `retry:`: the id stays
    assert resume.headers() == {"Last-Event-ID": "1-0"}
    assert resume.next_delay(0.0, 60) == 0.75


@pytest.mark.parametrize(("header", "delay"), [("5", 5.0), (None, 1.0), ("soon", 1.0), ("0", 0.5)])
def test_a_refusal_waits_its_retry_after(header: str | None, delay: float) -> None:
    resume = StreamResume()
    resume.retry_after(header)
    assert resume.next_delay(0.0, 60) == delay


def test_it_gives_up_once_attempts_failed_for_too_long_and_an_event_resets_that() -> None:
    resume = StreamResume()
    resume.next_delay(0.0, 60)
    resume.next_delay(59.0, 60)
    resume.seen("2-0", None, True)
    resume.next_delay(100.0, 60)  # failing again from now on
    resume.seen(None, 1000, False)  # a draining server's parting words are no progress
    with pytest.raises(TimeoutError, match="60 s"):
        resume.next_delay(161.0, 60)
