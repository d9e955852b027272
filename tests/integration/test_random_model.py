"""`sdq models make-random` end to end with the scaled-down families: the folder loads through
from_pretrained like a real checkpoint of its family and generates; its tokenizer numbers
CLIP's special tokens as CLIP does."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli import app
from sdq.inputs import InputLimits, parse_input
from sdq.settings import ModelSpec, Settings
from tests.helpers import in_process_cli
from worker.engines.diffusers_engine import SchedulerCache, generate, load_model
from worker.engines.published_configs import CLIP_VOCAB

FAMILIES = [
    ("sd15-mini", "StableDiffusionPipeline", ("tokenizer",)),
    ("sdxl-mini", "StableDiffusionXLPipeline", ("tokenizer", "tokenizer_2")),
]


@pytest.mark.parametrize(("family", "pipeline", "tokenizers"), FAMILIES)
def test_make_random_writes_a_checkpoint_that_loads_and_generates(
    tmp_path: Path, family: str, pipeline: str, tokenizers: tuple[str, ...]
) -> None:
    folder = tmp_path / family
    result = in_process_cli().invoke(
        app, ["models", "make-random", str(folder), "--family", family]
    )
    assert result.exit_code == 0, result.output
    assert (folder / "model_index.json").is_file()
    settings = Settings(data_dir=tmp_path, device="cpu", torch_threads=1)
    kind = "sdxl" if family.startswith("sdxl") else "sd15"
    model = load_model(ModelSpec(id="bench/mini", source=str(folder), family=kind), settings)
    assert type(model.pipeline).__name__ == pipeline
    for name in tokenizers:
        tokenizer = getattr(model.pipeline, name)
        assert len(tokenizer) == CLIP_VOCAB
        assert tokenizer("a dog").input_ids[0] == CLIP_VOCAB - 2
    request = parse_input(
        {"prompt": "a dog", "width": 64, "height": 64, "num_inference_steps": 2, "seed": 1},
        InputLimits(),
    )
    schedulers = SchedulerCache(model.pipeline.scheduler)  # type: ignore[attr-defined]
    images = generate(model, schedulers, request, on_step=lambda *_: False)
    assert [image.size for image in images] == [(64, 64)]


def test_an_unknown_family_is_refused_by_name(tmp_path: Path) -> None:
    result = in_process_cli().invoke(
        app, ["models", "make-random", str(tmp_path), "--family", "sd3"]
    )
    assert result.exit_code != 0
    assert "--family" in result.output and "sd15" in result.output
