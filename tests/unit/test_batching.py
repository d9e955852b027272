"""Micro-batching's compatibility rule and the jobs a heartbeat counts in flight, as tables."""

from __future__ import annotations

from typing import Any

import pytest

from sdq.batching import batch_key, batchable
from sdq.inputs import InputLimits, parse_input
from sdq.store.heartbeats import Heartbeat, WorkerState, model_workers

BASE = {"prompt": "dog", "width": 64, "height": 64, "num_inference_steps": 4, "seed": 1}


def stored(**fields: Any) -> dict[str, Any]:
    """An input as the API stores it: validated, every field written out."""
    return parse_input(BASE | fields, InputLimits()).model_dump()


@pytest.mark.parametrize(
    ("other", "shares"),
    [
        ({"prompt": "cat"}, True),
        ({"negative_prompt": "blurry"}, False),
        ({"negative_prompt": ""}, True),
        ({"seed": 99}, True),
        ({"num_outputs": 3}, True),
        ({"preview_every": 2}, True),
        ({"width": 128}, False),
        ({"height": 128}, False),
        ({"num_inference_steps": 5}, False),
        ({"scheduler": "DDIM"}, False),
        ({"guidance_scale": 7.0}, False),
    ],
)
def test_jobs_share_a_call_when_size_steps_sampler_and_guidance_match(
    other: dict[str, Any], shares: bool
) -> None:
    assert (batch_key(stored()) == batch_key(stored(**other))) is shares


def test_a_missing_field_counts_as_its_default() -> None:
    assert batch_key({"prompt": "old"}) == batch_key(stored(width=512, height=512) | {
        "num_inference_steps": 20})  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, True),
        ({"image": "data:image/png;base64,AAAA"}, False),
        ({"image": None}, True),
        ({"loras": [{"name": "red", "scale": 1.0}]}, False),
        ({"loras": []}, True),
    ],
)
def test_image_to_image_and_adapter_jobs_run_alone(fields: dict[str, Any], expected: bool) -> None:
    assert batchable({"prompt": "dog"} | fields) is expected


def beat(name: str, state: WorkerState, job_id: str | None, job_ids: list[str]) -> Heartbeat:
    return Heartbeat(
        worker_id=name,
        host="h",
        pid=1,
        model="sdq/tiny",
        state=state,
        job_id=job_id,
        job_ids=job_ids,
        started_at=0,
        seen_at=0,
    )


@pytest.mark.parametrize(
    ("beats", "in_flight"),
    [
        ([], 0),
        ([beat("w1", WorkerState.IDLE, None, [])], 0),
        ([beat("w1", WorkerState.BUSY, "a", ["a"])], 1),
        ([beat("w1", WorkerState.BUSY, "a", [])], 1),  # a worker from before batching
        ([beat("w1", WorkerState.BUSY, "a", ["a", "b", "c", "d"])], 4),
        ([beat("w1", WorkerState.BUSY, "a", ["a", "b"]),
          beat("w2", WorkerState.BUSY, "c", ["c"])], 3),
    ],
)  # fmt: skip
def test_every_job_of_a_batch_counts_in_flight(beats: list[Heartbeat], in_flight: int) -> None:
    assert model_workers(beats, "sdq/tiny")[1] == in_flight
