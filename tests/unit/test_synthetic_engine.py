"""The synthetic engine: real step callbacks, sleeping steps, placeholder images, cancel."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from sdq.inputs import GenerationInput
from worker.engines.base import GenerationCanceled
from worker.engines.synthetic_engine import SyntheticEngine

ENGINE = SyntheticEngine("sdq/synthetic", step_seconds=0.01)


def request(**fields: object) -> GenerationInput:
    return GenerationInput.model_validate({"prompt": "x", "seed": 7} | fields)


def test_steps_are_reported_and_images_have_the_requested_size_and_count() -> None:
    steps: list[tuple[int, int]] = []

    def record(step: int, total: int, latents: object) -> bool:
        steps.append((step, total))
        return False

    images = ENGINE.generate(
        request(width=96, height=64, num_inference_steps=5, num_outputs=2), record
    )
    assert steps == [(i, 5) for i in range(1, 6)]
    assert [image.size for image in images] == [(96, 64), (96, 64)]
    assert images[0].getpixel((90, 60)) != images[1].getpixel((90, 60)), "seed, seed+1 differ"


def test_same_seed_same_placeholder() -> None:
    def never(step: int, total: int, latents: object) -> bool:
        return False

    first = ENGINE.generate(request(num_inference_steps=1), never)[0]
    again = ENGINE.generate(request(num_inference_steps=1), never)[0]
    assert first.tobytes() == again.tobytes()


def test_cancel_stops_between_steps() -> None:
    seen: list[int] = []

    def stop_at_three(step: int, total: int, latents: object) -> bool:
        seen.append(step)
        return step == 3

    with pytest.raises(GenerationCanceled):
        ENGINE.generate(request(num_inference_steps=50), stop_at_three)
    assert seen == [1, 2, 3]


def test_steps_sleep_instead_of_computing() -> None:
    engine = SyntheticEngine("sdq/synthetic", step_seconds=0.05)
    wall, cpu = time.perf_counter(), time.process_time()
    engine.generate(request(num_inference_steps=10, width=64, height=64), lambda *_: False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert wall >= 0.5
    assert cpu < wall / 2, f"{cpu:.3f} s of CPU in {wall:.3f} s"


def test_its_notice_says_it_is_synthetic() -> None:
    assert "synthetic" in ENGINE.notice and "placeholder" in ENGINE.notice


def test_a_synthetic_worker_never_imports_torch() -> None:
    """Its cold start is the process start alone, like a baked GPU image's warm path."""
    code = (
        "import sys, worker.celery_worker\n"
        "from worker.engines.loader import load_engine\n"
        "from sdq.settings import ModelSpec, Settings\n"
        "load_engine(ModelSpec(id='sdq/synthetic'), Settings())\n"
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_batch_steps_once_for_all_and_a_stopped_job_gets_nothing() -> None:
    asked: list[tuple[str, int]] = []

    def job(name: str, stop_at: int | None) -> Callable[[int, int, object], bool]:
        def on_step(step: int, total: int, latents: object) -> bool:
            asked.append((name, step))
            return step == stop_at

        return on_step

    requests = [request(num_inference_steps=3), request(num_inference_steps=3, num_outputs=2)]
    images = ENGINE.generate_batch(requests, [job("a", 2), job("b", None)])
    assert images[0] is None and images[1] is not None and len(images[1]) == 2
    assert asked == [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("b", 3)]
    with pytest.raises(GenerationCanceled):
        ENGINE.generate_batch(requests, [job("a", 1), job("b", 1)])
