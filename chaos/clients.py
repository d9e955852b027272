"""Submitting one planned job in its dialect, repeating with its Idempotency-Key through outages."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from chaos.plan import JobSpec

MODEL = "sdq/synthetic"
SIZE = 64
# Answers that mean "not now": the API or Redis is down or restarting, a key is being created.
TRANSIENT = frozenset({409, 429, 500, 502, 503, 504})
RETRY_PAUSE_S = 0.5


@dataclass(frozen=True)
class Outcome:
    """How a submission ended: `answered` (the job exists and the API said so: an id, or a
    finished synchronous call), the prediction id when the answer named it, and why if not."""

    answered: bool
    job_id: str | None = None
    reason: str = ""


def native(http: httpx.Client, job: JobSpec, webhook: str) -> httpx.Response:
    body = {
        "input": {
            "prompt": job.prompt,
            "num_inference_steps": job.steps,
            "width": SIZE,
            "height": SIZE,
        },
        "webhook": webhook,
        "webhook_events_filter": ["completed"],
    }
    return http.post(f"/v1/models/{MODEL}/predictions", json=body, headers=_key(job))


def a1111(http: httpx.Client, job: JobSpec) -> httpx.Response:
    body = {
        "prompt": job.prompt,
        "steps": job.steps,
        "width": SIZE,
        "height": SIZE,
        "override_settings": {"sd_model_checkpoint": MODEL},
    }
    return http.post("/sdapi/v1/txt2img", json=body, headers=_key(job))


def openai(http: httpx.Client, job: JobSpec) -> httpx.Response:
    body = {
        "model": MODEL,
        "prompt": job.prompt,
        "size": f"{SIZE}x{SIZE}",
        "quality": "low",
        "response_format": "url",
    }
    return http.post("/v1/images/generations", json=body, headers=_key(job))


def _key(job: JobSpec) -> dict[str, str]:
    return {"Idempotency-Key": f"chaos-{job.prompt.replace(' ', '-')}"}


def prediction_id(job: JobSpec, answer: dict[str, Any]) -> str | None:
    """The prediction a 2xx answer names: native `id`, A1111 `info.sdq_prediction_id`, or the
    job folder in an OpenAI output link (`/v1/files/<id>/out-…`)."""
    if job.dialect == "native":
        return str(answer["id"])
    if job.dialect == "a1111":
        return str(json.loads(answer["info"])["sdq_prediction_id"])
    path = urlsplit(str(answer["data"][0]["url"])).path
    return path.split("/v1/files/", 1)[1].split("/", 1)[0]


def is_generation_failure(response: httpx.Response) -> bool:
    """A synchronous call's answer that its job ended without images (final, not an outage)."""
    return response.status_code == 500 and "Generation failed" in response.text


def submit(
    http: httpx.Client, job: JobSpec, webhook: str, deadline: float, clock: Callable[[], float]
) -> Outcome:
    """Send the job until the API acknowledges it or a non-transient refusal, or the deadline."""
    last = "never sent"
    while clock() < deadline:
        try:
            if job.dialect == "native":
                response = native(http, job, webhook)
            elif job.dialect == "a1111":
                response = a1111(http, job)
            else:
                response = openai(http, job)
        except httpx.TransportError as error:
            last = f"{type(error).__name__}: {error}"
        else:
            if response.is_success:
                return Outcome(True, prediction_id(job, response.json()))
            if is_generation_failure(response):
                return Outcome(True, None, response.text[:300])
            last = f"{response.status_code}: {response.text[:300]}"
            if response.status_code not in TRANSIENT:
                return Outcome(False, None, last)
        time.sleep(RETRY_PAUSE_S)
    return Outcome(False, None, f"gave up at the deadline; last answer {last}")
