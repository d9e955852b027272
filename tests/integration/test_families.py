"""Every model family through the worker's engine, on tiny random-weight pipelines of each
(`sdq models make-tiny --family`): loaded by its spec, text-to-image, image-to-image,
inpainting and LoRA adapters (`sdq models make-tiny-lora`) with the family's defaults, and a
checkpoint of another family refused at load."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from cli import app
from sdq.inputs import InputLimits, parse_input
from sdq.settings import ModelSpec, Settings
from tests.helpers import in_process_cli
from worker.engines.diffusers_engine import DiffusersEngine
from worker.engines.load_errors import LoadCause, ModelLoadError
from worker.engines.tiny_families import make_tiny_family
from worker.engines.tiny_lora import make_tiny_lora

FAMILIES = ("sdxl", "sd3", "flux")
SIZE = 64


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    return {family: make_tiny_family(family, root / family) for family in FAMILIES}


@pytest.fixture(scope="module")
def adapters(folders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One random adapter, `red`, per family: ROOT/FAMILY/red.safetensors."""
    root = tmp_path_factory.mktemp("family-loras")
    for family, folder in folders.items():
        make_tiny_lora(folder, root / family / "red.safetensors", seed=1)
    return root


def spec(family: str, folder: Path, adapters: Path | None = None) -> ModelSpec:
    return ModelSpec(
        id=f"test/tiny-{family}",
        source=str(folder),
        family=family,
        defaults={"width": SIZE, "height": SIZE, "num_inference_steps": 3},
        lora_dir=adapters / family if adapters else None,
    )


@pytest.fixture(scope="module", params=FAMILIES)
def engine(
    request: pytest.FixtureRequest,
    folders: dict[str, Path],
    adapters: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> DiffusersEngine:
    family = request.param
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), torch_threads=1)
    return DiffusersEngine.load(spec(family, folders[family], adapters), settings)


def job(engine: DiffusersEngine, **fields: object) -> object:
    model = engine.model.spec
    limits = InputLimits.for_model(model, Settings())
    return parse_input({"prompt": "a red ball", "seed": 4} | fields, limits)


def photo() -> Image.Image:
    x = np.linspace(0, 255, SIZE, dtype=np.uint8)
    rgb = np.stack([np.tile(x, (SIZE, 1)), np.tile(x[:, None], (1, SIZE)), np.zeros((SIZE, SIZE))])
    return Image.fromarray(rgb.transpose(1, 2, 0).astype(np.uint8), "RGB")


def never(step: int, total: int, latents: object) -> bool:
    return False


def test_text_to_image_with_the_models_defaults(engine: DiffusersEngine) -> None:
    family = engine.model.spec.rules
    assert type(engine.model.pipeline).__name__ == family.pipeline
    request = job(engine, num_outputs=2)
    assert request.scheduler == family.scheduler  # type: ignore[attr-defined]
    steps: list[int] = []

    def count(step: int, total: int, latents: object) -> bool:
        steps.append(step)
        return False

    images = engine.generate(request, count)  # type: ignore[arg-type]
    assert [image.size for image in images] == [(SIZE, SIZE)] * 2
    assert steps[-1] == 3
    assert not np.array_equal(np.asarray(images[0]), np.asarray(images[1])), "one seed each"
    again = engine.generate(request, never)  # type: ignore[arg-type]
    assert np.array_equal(np.asarray(images[0]), np.asarray(again[0])), "a seed reproduces"


def test_image_to_image_and_inpainting(engine: DiffusersEngine) -> None:
    original = np.asarray(photo()).astype(int)
    request = job(engine, image="job/input-0.png", prompt_strength=0.9)
    [changed] = engine.generate(request, never, photo())  # type: ignore[arg-type]
    assert np.abs(np.asarray(changed).astype(int) - original).mean() > 5
    mask = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(mask).rectangle((16, 16, 39, 39), fill=255)
    masked = job(engine, image="job/input-0.png", mask="job/mask.png", prompt_strength=1.0)
    [inpainted] = engine.generate(masked, never, photo(), mask)  # type: ignore[arg-type]
    out = np.asarray(inpainted).astype(int)
    assert np.array_equal(out[:4], original[:4]) and np.array_equal(out[-4:], original[-4:])
    assert np.abs(out[24:32, 24:32] - original[24:32, 24:32]).mean() > 5


def test_a_lora_adapter_changes_the_image_and_leaves_nothing_behind(
    engine: DiffusersEngine,
) -> None:
    def draw(*loras: tuple[str, float]) -> np.ndarray:
        chosen = [{"name": name, "scale": scale} for name, scale in loras]
        [image] = engine.generate(job(engine, loras=chosen), never)  # type: ignore[arg-type]
        return np.asarray(image).astype(int)

    plain = draw()
    assert np.array_equal(draw(("red", 0.0)), plain), "scale 0 draws as no adapter"
    assert np.abs(draw(("red", 1.0)) - plain).mean() > 1
    assert engine.held_adapters() == {"red"}
    assert np.array_equal(draw(), plain), "the next job without it is drawn without it"


@pytest.mark.parametrize(("width", "height"), [(SIZE, SIZE), (2 * SIZE, SIZE), (SIZE, 3 * SIZE)])
def test_every_family_previews_its_steps_at_the_drawings_shape(
    engine: DiffusersEngine, width: int, height: int
) -> None:
    family = engine.model.spec.family
    assert engine.space == {"sdxl": "sdxl", "sd3": "sd3", "flux": "flux"}[str(family)]
    request = job(engine, preview_every=1, width=width, height=height)
    seen: list[str | None] = []

    def preview(step: int, total: int, latents: object) -> bool:
        seen.append(engine.preview(latents))
        return False

    engine.generate(request, preview)  # type: ignore[arg-type]
    assert len(seen) == 3 and all(seen)
    prefix = "data:image/jpeg;base64,"
    shown = Image.open(io.BytesIO(base64.b64decode(str(seen[-1]).removeprefix(prefix))))
    assert shown.width * height == shown.height * width, (shown.size, (width, height))


def test_a_preview_that_fails_is_logged_once_and_none_follow(
    engine: DiffusersEngine, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        assert engine.preview(torch.zeros(1, 5, 2, 2)) is None  # no family has 5 channels
        assert engine.preview(torch.zeros(1, 5, 2, 2)) is None
        request = job(engine, preview_every=1)
        [image] = engine.generate(request, lambda *step: engine.preview(step[2]) is not None)  # type: ignore[arg-type]
        assert image.size == (SIZE, SIZE), "the job ran to its end"
    finally:
        engine.preview_failed = False
    stopped = [r for r in caplog.records if "step previews stopped" in r.getMessage()]
    assert len(stopped) == 1 and stopped[0].exc_info is not None


def test_a_checkpoint_of_another_family_is_refused_at_load(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    wrong = ModelSpec(id="test/wrong", source=str(folders["sdxl"]), family="flux")
    with pytest.raises(ModelLoadError) as caught:
        DiffusersEngine.load(wrong, Settings(data_dir=tmp_path))
    assert caught.value.failure.cause is LoadCause.WRONG_FAMILY
    assert str(caught.value) == (
        "test/wrong is a sdxl checkpoint (StableDiffusionXLPipeline) but its spec says family "
        '\'flux\': set "family": "sdxl" in its SDQ_MODELS entry'
    )


def test_make_tiny_keeps_its_own_family_and_refuses_a_folder_of_another(
    folders: dict[str, Path],
) -> None:
    again = in_process_cli().invoke(
        app, ["models", "make-tiny", "--family", "sdxl", str(folders["sdxl"])]
    )
    assert again.exit_code == 0 and "tiny sdxl pipeline in" in again.output
    other = in_process_cli().invoke(
        app, ["models", "make-tiny", "--family", "flux", str(folders["sdxl"])]
    )
    assert other.exit_code == 2
    assert "already holds another pipeline (StableDiffusionXLPipeline)" in other.output
