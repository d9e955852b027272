"""The prediction id of a path, checked against the job-id alphabet: an id that cannot exist is a
404 before Redis is asked (so `<id>:events` never names the job's event stream)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.errors import NotFound
from sdq.job import is_job_id


async def checked_prediction_id(prediction_id: str) -> str:
    if not is_job_id(prediction_id):
        raise NotFound(f"prediction {prediction_id} not found")
    return prediction_id


PredictionId = Annotated[str, Depends(checked_prediction_id)]
