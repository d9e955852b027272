"""What a client sends back to name a job, an event or a page: checked against its alphabet first,
so `<id>:events` never names another Redis key and a bad cursor never reaches Redis."""

from __future__ import annotations

import pytest

from api.client_ids import is_event_id, is_page_cursor
from sdq.job import is_job_id, new_job_id


def test_every_new_job_id_is_a_job_id() -> None:
    assert all(is_job_id(new_job_id()) for _ in range(200))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "nope",
        "a" * 25,
        "a" * 27,
        "A" * 26,
        "a" * 25 + "1",
        "a" * 25 + "8",
        "a" * 26 + "\n",
        "a" * 26 + ":events",
        "\u00e4" * 26,
    ],
)
def test_not_a_job_id(value: str) -> None:
    assert not is_job_id(value)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("0-0", True),
        ("1712345678123-7", True),
        ("18446744073709551615-18446744073709551615", True),
        ("18446744073709551616-0", False),
        ("0-18446744073709551616", False),
        ("99999999999999999999-0", False),
        ("\u00b2-1", False),
        ("\u0661-1", False),
        ("1-1\n", False),
        ("-1-1", False),
        ("1", False),
        ("1-", False),
        ("banana", False),
    ],
)
def test_event_ids(value: str, valid: bool) -> None:
    assert is_event_id(value) is valid


JOB = "a" * 26


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (f"1712345678123456:{JOB}", True),
        (f"1712345678123456.5:{JOB}", True),
        (f"0:{JOB}", True),
        ("abc", False),
        (f"abc:{JOB}", False),
        ("1:abc", False),
        (f"\u00b2:{JOB}", False),
        (f"nan:{JOB}", False),
        (f"inf:{JOB}", False),
        (f"+inf:{JOB}", False),
        (f"(1:{JOB}", False),
        (f"-1:{JOB}", False),
        (f"1e5:{JOB}", False),
        ("1", False),
        (":", False),
        (f"1:{JOB}:x", False),
        ("9" * 5000 + f":{JOB}", False),
    ],
)
def test_page_cursors(value: str, valid: bool) -> None:
    assert is_page_cursor(value) is valid
