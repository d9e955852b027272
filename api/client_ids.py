"""What clients send back to name a job, an event or a page, checked against its alphabet before
any of it reaches Redis (an id such as `<id>:events` would otherwise name another key)."""

from __future__ import annotations

import re

from api.ascii_numbers import ascii_int
from sdq.job import is_job_id

# A Redis stream entry id: two unsigned 64-bit integers.
_UINT64_DIGITS = 20
_UINT64_MAX = 2**64 - 1
# A page cursor is `score:id` as `sdq.store.jobs.list_jobs` writes it: the job's creation time in
# microseconds (Redis writes integral scores without a fraction or an exponent) and its id.
_SCORE = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?")


def is_event_id(value: str) -> bool:
    """`MILLISECONDS-SEQUENCE`, as the ids of a prediction's event stream."""
    millis, sep, sequence = value.partition("-")
    numbers = [ascii_int(part, _UINT64_DIGITS) for part in (millis, sequence)]
    return bool(sep) and all(n is not None and n <= _UINT64_MAX for n in numbers)


def is_page_cursor(value: str) -> bool:
    """A `next_cursor` of `list_jobs`: `SCORE:JOB_ID`."""
    score, sep, job_id = value.partition(":")
    return bool(sep) and _SCORE.fullmatch(score) is not None and is_job_id(job_id)
