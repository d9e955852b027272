"""One pipeline call for several jobs on the real diffusers pipeline (tiny random weights): each
job gets its own images, as it would alone, and a job that stops gets none."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sdq.inputs import GenerationInput, InputLimits, parse_input
from worker.engines.base import GenerationCanceled, StepCallback
from worker.engines.diffusers_engine import (
    LoadedModel,
    SchedulerCache,
    generate,
    generate_batch,
)

# Batched kernels on CPU round differently from single ones (the same holds for `num_outputs`
# > 1 in one job): a batched image may differ from its job run alone by a level or two of 255.
ROUNDING_LEVELS = 2


def request(**fields: object) -> GenerationInput:
    base = {"prompt": "a dog", "width": 64, "height": 64, "num_inference_steps": 4, "seed": 1}
    return parse_input(base | fields, InputLimits())


def never_stop(step: int, total: int, latents: object) -> bool:
    return False


def arrays(images: list[Any] | None) -> list[np.ndarray]:
    assert images is not None
    return [np.asarray(image).astype(int) for image in images]


JOBS = [
    {"prompt": "a dog", "seed": 7},
    {"prompt": "a cat", "seed": 7, "negative_prompt": "blurry"},
    {"prompt": "a boat", "seed": 123, "num_outputs": 2},
    {"prompt": "a dog", "seed": 8},
]


def test_each_job_of_a_batch_gets_the_images_it_gets_alone(
    model: LoadedModel, schedulers: SchedulerCache
) -> None:
    requests = [request(**fields) for fields in JOBS]
    batched = generate_batch(model, schedulers, requests, [never_stop] * len(requests))
    assert [len(images or []) for images in batched] == [1, 1, 2, 1]
    for job, images in zip(requests, batched, strict=True):
        alone = arrays(generate(model, schedulers, job, on_step=never_stop))
        for mine, reference in zip(arrays(images), alone, strict=True):
            assert np.abs(mine - reference).max() <= ROUNDING_LEVELS, job.prompt
    first, _, _, other_seed = (arrays(images)[0] for images in batched)
    assert np.abs(first - other_seed).max() > 10 * ROUNDING_LEVELS, "each job its own noise"


def test_a_job_that_stops_gets_nothing_and_is_asked_no_more(
    model: LoadedModel, schedulers: SchedulerCache
) -> None:
    asked: list[int] = []

    def stop_at_two(step: int, total: int, latents: Any) -> bool:
        asked.append(step)
        assert latents.shape[0] == 1, "a job sees only its own latents"
        return step == 2

    requests = [request(seed=1), request(seed=2)]
    batched = generate_batch(model, schedulers, requests, [stop_at_two, never_stop])
    assert batched[0] is None and batched[1] is not None and len(batched[1]) == 1
    assert asked == [1, 2]


def test_the_call_stops_when_every_job_stopped(
    model: LoadedModel, schedulers: SchedulerCache
) -> None:
    steps: list[int] = []

    def stop_now(step: int, total: int, latents: Any) -> bool:
        steps.append(step)
        return True

    callbacks: list[StepCallback] = [stop_now, stop_now]
    with pytest.raises(GenerationCanceled):
        generate_batch(model, schedulers, [request(seed=1), request(seed=2)], callbacks)
    assert steps == [1, 1]
