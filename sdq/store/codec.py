"""The job record's codec: fields flattened to the strings of a Redis hash, and read back."""

from __future__ import annotations

import json
from typing import Any

from sdq.job import Job, JobMetrics

_JSON_FIELDS = {"input", "output", "metrics"}
_CSV_FIELDS = {"webhook_events_filter"}
_FLOAT_FIELDS = {"created_at", "started_at", "completed_at"}


def encode_fields(values: dict[str, Any]) -> list[str]:
    """Flatten record fields to the strings stored in the job hash (None becomes '')."""
    flat: list[str] = []
    for name, value in values.items():
        if name in _JSON_FIELDS:
            text = json.dumps(value.model_dump() if isinstance(value, JobMetrics) else value)
        elif name in _CSV_FIELDS:
            text = ",".join(value)
        elif isinstance(value, bool):
            text = "1" if value else "0"
        elif value is None:
            text = ""
        else:
            text = str(value)
        flat += [name, text]
    return flat


def decode_job(fields: dict[str, str]) -> Job:
    """Read a job hash back into a `Job`."""
    values: dict[str, Any] = {}
    for name, text in fields.items():
        if name in _JSON_FIELDS:
            values[name] = json.loads(text) if text else None
        elif name in _CSV_FIELDS:
            values[name] = [part for part in text.split(",") if part]
        elif name in _FLOAT_FIELDS:
            values[name] = float(text) if text else None
        elif name == "cancel_requested":
            values[name] = text == "1"
        else:
            values[name] = text if text != "" or name in {"logs"} else None
    values = {k: v for k, v in values.items() if v is not None}
    return Job.model_validate(values)


def pairs(flat: list[str]) -> dict[str, str]:
    """A flat [field, value, ...] reply as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))
