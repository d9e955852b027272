"""Running out of output space: the words a failed job and the readiness probe use, the verdict on
free space, what counts as "full" from a filesystem and from S3, and the worker's guard."""

from __future__ import annotations

import errno
import logging
from pathlib import Path
from typing import Any

import pytest

from sdq.disk_space import format_bytes, is_full_error, no_space_message, space_verdict
from sdq.s3_storage import full_code
from worker.disk_guard import DiskGuard

OUT = Path("/data/outputs")
MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1024, "1.0 KiB"),
        (12 * 1024 + 512, "12.5 KiB"),
        (512 * MIB, "512.0 MiB"),
        (3 * 1024 * MIB, "3.0 GiB"),
        (5000 * 1024 * 1024 * MIB, "5000.0 TiB"),
    ],
)
def test_format_bytes(count: int, text: str) -> None:
    assert format_bytes(count) == text


@pytest.mark.parametrize(
    ("free", "text"),
    [
        (
            4096,
            "no space left on the output storage (/data/outputs): 4.0 KiB free; "
            "free some space or point SDQ_DATA_DIR elsewhere",
        ),
        (None, "no space left on the output storage (/data/outputs): free space unknown; "),
    ],
)
def test_no_space_message(free: int | None, text: str) -> None:
    message = no_space_message(OUT, free)
    assert message.startswith(text)
    assert "\n" not in message


@pytest.mark.parametrize(
    ("free", "min_free", "ok", "reason"),
    [
        (600 * MIB, 512 * MIB, True, "600.0 MiB free on the output storage"),
        (512 * MIB, 512 * MIB, True, "512.0 MiB free"),  # the floor itself is enough
        (
            100 * MIB,
            512 * MIB,
            False,
            "low space on the output storage (/data/outputs): 100.0 MiB free, below "
            "SDQ_MIN_FREE_DISK_BYTES (512.0 MiB); free some space or point SDQ_DATA_DIR elsewhere",
        ),
        (0, 1, False, "0 bytes free, below SDQ_MIN_FREE_DISK_BYTES (1 bytes)"),
        (0, 0, True, "free-space check off (SDQ_MIN_FREE_DISK_BYTES=0)"),
        (None, 512 * MIB, True, "unknown"),  # unmeasurable: not held against the worker
    ],
)
def test_space_verdict(free: int | None, min_free: int, ok: bool, reason: str) -> None:
    verdict = space_verdict(OUT, free, min_free)
    assert verdict.ok is ok
    assert reason in verdict.reason


@pytest.mark.parametrize(
    ("code", "full"),
    [
        (errno.ENOSPC, True),
        (errno.EDQUOT, True),
        (errno.EIO, False),
        (errno.EACCES, False),
        (None, False),
    ],
)
def test_full_filesystem_errors(code: int | None, full: bool) -> None:
    error = OSError(code, "x") if code is not None else OSError("x")
    assert is_full_error(error) is full


def _answer(code: str, status: int) -> dict[str, Any]:
    return {"Error": {"Code": code, "Message": "…"}, "ResponseMetadata": {"HTTPStatusCode": status}}


@pytest.mark.parametrize(
    ("response", "code"),
    [
        (_answer("XMinioStorageFull", 507), "XMinioStorageFull"),
        (_answer("XMinioAdminBucketQuotaExceeded", 400), "XMinioAdminBucketQuotaExceeded"),
        (_answer("QuotaExceeded", 403), "QuotaExceeded"),
        (_answer("", 507), "507"),  # any store's Insufficient Storage
        (_answer("AccessDenied", 403), None),
        (_answer("NoSuchBucket", 404), None),
        (_answer("InternalError", 500), None),
        (None, None),  # not a botocore error at all (a connection that dropped)
        ({}, None),
    ],
)
def test_s3_answers_that_mean_full(response: Any, code: str | None) -> None:
    assert full_code(response) == code


@pytest.mark.parametrize(
    ("free_seen", "logged"),
    [
        ([600, 600], []),
        ([100], ["WARNING taking no jobs: low space"]),
        ([100, 100, 50], ["WARNING taking no jobs: low space"]),  # once, not per declined token
        (
            [100, 600, 600, 100],
            [
                "WARNING taking no jobs: low space",
                "INFO taking jobs again: 600 bytes free",
                "WARNING taking no jobs: low space",
            ],
        ),
    ],
)
def test_the_guard_logs_when_its_verdict_turns(
    free_seen: list[int], logged: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    readings = iter(free_seen)
    guard = DiskGuard(OUT, 512, measure=lambda _: next(readings))
    with caplog.at_level(logging.INFO, logger="worker.disk_guard"):
        verdicts = [guard.check().ok for _ in free_seen]
    assert verdicts == [free >= 512 for free in free_seen]
    lines = [f"{r.levelname} {r.getMessage()}" for r in caplog.records]
    assert len(lines) == len(logged)
    for line, start in zip(lines, logged, strict=True):
        assert line.startswith(start), line
