"""What an answer says about the sdq prediction behind it, per dialect: its id, whether it is
finished, and its queue wait and predict time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cli.loadgen.targets import Dialect
from sdq.job import TERMINAL_STATUSES, is_job_id

TERMINAL = frozenset(status.replicate_name for status in TERMINAL_STATUSES)


@dataclass(frozen=True)
class Answer:
    """The prediction an answer is about (all None: it says nothing of one)."""

    prediction_id: str | None = None
    finished: bool | None = None
    metrics: tuple[float, float] | None = None


def metrics_of(prediction: dict[str, Any]) -> tuple[float, float] | None:
    """(queue wait, predict time) of a finished native prediction (None: not both known)."""
    metrics = prediction.get("metrics")
    if not isinstance(metrics, dict):
        return None
    queue, predict = metrics.get("queue_wait"), metrics.get("predict_time")
    if isinstance(queue, int | float) and isinstance(predict, int | float):
        return float(queue), float(predict)
    return None


def native_answer(prediction: dict[str, Any]) -> Answer:
    status = prediction.get("status")
    finished = status in TERMINAL
    identity = prediction.get("id")
    return Answer(
        prediction_id=identity if isinstance(identity, str) else None,
        finished=finished,
        metrics=metrics_of(prediction) if finished else None,
    )


def a1111_answer(body: dict[str, Any]) -> Answer:
    """sdq puts the prediction's id in `info` (a JSON string) as `sdq_prediction_id`."""
    try:
        info = json.loads(body.get("info") or "{}")
    except (TypeError, ValueError):
        return Answer()
    identity = info.get("sdq_prediction_id") if isinstance(info, dict) else None
    if not isinstance(identity, str):
        return Answer()
    return Answer(prediction_id=identity, finished=True)


def openai_answer(body: dict[str, Any]) -> Answer:
    """sdq's image links end in `{prediction id}/{file}` (its files route and presigned object
    storage alike); `b64_json` answers carry no id."""
    for image in body.get("data") or []:
        url = image.get("url") if isinstance(image, dict) else None
        if not isinstance(url, str):
            continue
        folder = urlsplit(url).path.rstrip("/").split("/")[-2:-1]
        if folder and is_job_id(folder[0]):
            return Answer(prediction_id=folder[0], finished=True)
    return Answer()


def read_answer(dialect: Dialect, body: Any) -> Answer:
    """The prediction behind a successful answer's JSON body, in the dialect's terms."""
    if not isinstance(body, dict):
        return Answer()
    if dialect is Dialect.NATIVE:
        return native_answer(body)
    if dialect is Dialect.A1111:
        return a1111_answer(body)
    return openai_answer(body)
