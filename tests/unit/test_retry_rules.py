"""Which predictions may be retried, and the `status` filter of the predictions list."""

from __future__ import annotations

import pytest

from api.retry import retry_refusal
from api.status_filter import STATUS_NAMES, parse_status
from sdq.inputs import InvalidInput
from sdq.job import Job, JobStatus
from sdq.settings import Settings

SETTINGS = Settings(models="sdq/synthetic")


def job(status: JobStatus, model: str = "sdq/synthetic") -> Job:
    return Job(id="a" * 26, model=model, input={"prompt": "x"}, created_at=0.0, status=status)


@pytest.mark.parametrize(
    ("status", "refused_as"),
    [
        (JobStatus.FAILED, None),
        (JobStatus.ABORTED, None),
        (JobStatus.CANCELED, None),
        (JobStatus.QUEUED, "starting"),
        (JobStatus.RUNNING, "processing"),
        (JobStatus.SUCCEEDED, "succeeded"),
    ],
)
def test_only_ended_without_success_is_retried(status: JobStatus, refused_as: str | None) -> None:
    refusal = retry_refusal(job(status), SETTINGS)
    if refused_as is None:
        assert refusal is None
    else:
        assert refusal is not None and f"is {refused_as};" in refusal


def test_a_model_no_longer_served_is_not_retried() -> None:
    refusal = retry_refusal(job(JobStatus.FAILED, "gone/model"), SETTINGS)
    assert refusal is not None and "gone/model" in refusal


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (None, None),
        ("failed", JobStatus.FAILED),
        ("aborted", JobStatus.ABORTED),
        ("canceled", JobStatus.CANCELED),
        ("succeeded", JobStatus.SUCCEEDED),
        ("queued", JobStatus.QUEUED),
        ("starting", JobStatus.QUEUED),
        ("running", JobStatus.RUNNING),
        ("processing", JobStatus.RUNNING),
    ],
)
def test_status_names(value: str | None, status: JobStatus | None) -> None:
    assert parse_status(value) is status


@pytest.mark.parametrize("value", ["", "FAILED", "done", "cancelled"])
def test_an_unknown_status_names_the_field_and_the_choices(value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_status(value)
    (field,) = refused.value.fields
    assert field.field == "status"
    assert all(name in field.description for name in STATUS_NAMES)
