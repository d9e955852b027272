"""The `status` filter of the predictions list: sdq's status names and Replicate's (pure)."""

from __future__ import annotations

from sdq.inputs import InvalidField, InvalidInput
from sdq.job import JobStatus

# Each status by the names a client may use: sdq's own and, for the waiting ones, Replicate's
# (`starting`, `processing`), which is how predictions show them.
_BY_NAME = {status.value: status for status in JobStatus} | {
    status.replicate_name: status for status in JobStatus
}
STATUS_NAMES = tuple(_BY_NAME)


def parse_status(value: str | None) -> JobStatus | None:
    """The status to list (None: all); 422 naming `status` and the names it may be."""
    if value is None:
        return None
    status = _BY_NAME.get(value)
    if status is None:
        message = f"must be one of {', '.join(STATUS_NAMES)} (got {value!r})"
        raise InvalidInput([InvalidField("status", message)])
    return status
