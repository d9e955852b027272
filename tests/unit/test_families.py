"""Model families: a request that leaves a field out gets its model's defaults (the family's, or
the spec's own), each family's rules refuse what it cannot draw, and the A1111 and OpenAI
dialects map onto them."""

from __future__ import annotations

from typing import Any

import pytest

from api.a1111.shapes import Txt2ImgRequest, native_input
from api.openai_images import shapes as openai_shapes
from sdq.families import FAMILY_NAMES, Family, family_of_pipeline, traits
from sdq.inputs import InputLimits, InvalidInput, parse_input
from sdq.settings import ModelSpec, Settings

SETTINGS = Settings()


def limits(family: str, **spec: Any) -> InputLimits:
    return InputLimits.for_model(ModelSpec(id="a/b", family=family, **spec), SETTINGS)


# (family, spec fields, what a request with only a prompt gets)
DEFAULTS = [
    ("sd15", {}, (512, 512, 20, 7.5, "Euler a")),
    ("sdxl", {}, (1024, 1024, 30, 5.0, "Euler a")),
    ("sd3", {}, (1024, 1024, 28, 7.0, "Euler")),
    ("flux", {}, (1024, 1024, 28, 3.5, "Euler")),
    (
        "flux",
        {"defaults": {"num_inference_steps": 4, "guidance_scale": 0}},
        (1024, 1024, 4, 0, "Euler"),
    ),
    ("sdxl", {"max_size": 768}, (768, 768, 30, 5.0, "Euler a")),
    (
        "sd15",
        {"defaults": {"width": 768, "scheduler": "DPM++ 2M"}},
        (768, 512, 20, 7.5, "DPM++ 2M"),
    ),
]


@pytest.mark.parametrize(("family", "spec", "expected"), DEFAULTS)
def test_a_request_that_leaves_fields_out_gets_the_models_defaults(
    family: str, spec: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    parsed = parse_input({"prompt": "dog"}, limits(family, **spec))
    got = (
        parsed.width,
        parsed.height,
        parsed.num_inference_steps,
        parsed.guidance_scale,
        parsed.scheduler,
    )
    assert got == expected


def test_what_a_request_sends_wins_over_the_defaults() -> None:
    parsed = parse_input({"prompt": "dog", "width": 64, "scheduler": "Euler"}, limits("sdxl"))
    assert (parsed.width, parsed.height, parsed.scheduler) == (64, 1024, "Euler")


# (family, what the request sends, the field refused, the start of why)
REFUSALS = [
    (
        "flux",
        {"negative_prompt": "blurry"},
        "input.negative_prompt",
        "FLUX.1 models take no negative prompt",
    ),
    (
        "flux",
        {"scheduler": "Euler a"},
        "input.scheduler",
        "FLUX.1 models take only these schedulers: Euler",
    ),
    ("sd3", {"scheduler": "DPM++ 2M"}, "input.scheduler", "Stable Diffusion 3 models take only"),
    ("sd3", {"width": 72}, "input.width", "must be a multiple of 16 (got 72)"),
    ("flux", {"height": 1000}, "input.height", "must be a multiple of 16 (got 1000)"),
    ("sdxl", {"width": 1020}, "input.width", "must be a multiple of 8 (got 1020)"),
]


@pytest.mark.parametrize(("family", "sent", "field", "message"), REFUSALS)
def test_each_family_refuses_what_it_cannot_draw(
    family: str, sent: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_input({"prompt": "dog"} | sent, limits(family))
    [problem] = caught.value.fields
    assert problem.field == field
    assert problem.description.startswith(message)


def test_sd3_takes_a_negative_prompt_and_sdxl_any_sampler() -> None:
    assert parse_input({"prompt": "d", "negative_prompt": "x"}, limits("sd3")).negative_prompt
    assert parse_input({"prompt": "d", "scheduler": "UniPC"}, limits("sdxl")).scheduler == "UniPC"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"family": "flux", "defaults": {"scheduler": "Euler a"}}, "is not one flux takes"),
        ({"family": "sd3", "defaults": {"width": 1000}}, "a multiple of 16"),
        ({"defaults": {"height": 4096}}, "within min_size 64 and max_size 2048"),
        ({"defaults": {"steps": 4}}, "Extra inputs are not permitted"),
        ({"family": "sd2"}, "Input should be 'sd15', 'sdxl', 'sd3' or 'flux'"),
        ({"min_size": 500, "max_size": 503}, "no width is within min_size 500 and max_size 503"),
        ({"defaults": {"scheduler": "PNDM", "num_inference_steps": 3}}, "below the 4 steps"),
        ({"defaults": {"scheduler": "Warp 9"}}, "'Warp 9' is not one sd15 takes"),
    ],
)
def test_a_spec_whose_defaults_the_model_would_refuse_is_refused(
    spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ModelSpec(id="a/b", **spec)


@pytest.mark.parametrize(
    ("pipeline", "family"),
    [
        ("StableDiffusionPipeline", "sd15"),
        ("StableDiffusionXLPipeline", "sdxl"),
        ("StableDiffusion3Pipeline", "sd3"),
        ("FluxPipeline", "flux"),
        ("KandinskyV22Pipeline", None),
    ],
)
def test_a_checkpoints_family_by_its_pipeline(pipeline: str, family: str | None) -> None:
    assert family_of_pipeline(pipeline) == family


def test_every_family_defaults_to_a_size_it_takes() -> None:
    for name in FAMILY_NAMES:
        family = traits(name)
        assert family.size % family.size_multiple == 0
        assert family.scheduler in family.schedulers


# A1111: (family, the fields sent besides the prompt, the sdq fields it becomes)
A1111 = [
    pytest.param(
        "sd15",
        {},
        {
            "width": 512,
            "height": 512,
            "num_inference_steps": 50,
            "guidance_scale": 7.0,
            "scheduler": "Euler",
        },
        id="sd15: A1111's own defaults",
    ),
    pytest.param("flux", {}, {}, id="flux: left out, the model's"),
    pytest.param(
        "sdxl",
        {"width": 768, "steps": 25},
        {"width": 768, "num_inference_steps": 25},
        id="sdxl: what is sent",
    ),
    pytest.param(
        "flux", {"sampler_name": "Euler a"}, {"scheduler": "Euler"}, id="flux: Euler a is its Euler"
    ),
    pytest.param(
        "sd3",
        {"sampler_name": "DPM++ 2M"},
        {"scheduler": "DPM++ 2M"},
        id="sd3: another sampler is left to refuse",
    ),
]


@pytest.mark.parametrize(("family", "sent", "expected"), A1111)
def test_a1111_defaults_are_sd15s_and_other_families_get_their_own(
    family: Family, sent: dict[str, Any], expected: dict[str, Any]
) -> None:
    raw = native_input(Txt2ImgRequest.model_validate({"prompt": "dog"} | sent), traits(family))
    fields = ("width", "height", "num_inference_steps", "guidance_scale", "scheduler")
    assert {k: v for k, v in raw.items() if k in fields} == expected


@pytest.mark.parametrize(
    ("family", "quality", "size", "steps"),
    [
        ("sd15", "low", (512, 512), 10),
        ("sd15", "high", (512, 512), 40),
        ("sd15", "xhigh", (512, 512), 50),
        ("sdxl", "standard", (1024, 1024), 30),
        ("flux", "low", (1024, 1024), 14),
    ],
)
def test_openai_sizes_and_qualities_follow_the_models_defaults(
    family: str, quality: str, size: tuple[int, int], steps: int
) -> None:
    spec = ModelSpec(id="a/b", family=family)
    assert openai_shapes.default_size(spec) == size
    raw = openai_shapes.native_input("dog", 1, size, quality, spec)
    assert raw["num_inference_steps"] == steps


def test_openai_edits_keep_a_size_the_family_takes() -> None:
    assert openai_shapes.edit_size(1000, 1000, ModelSpec(id="a/b", family="flux")) == (992, 992)
    assert openai_shapes.edit_size(1000, 1000, ModelSpec(id="a/b")) == (1000, 1000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a/b", ModelSpec(id="a/b")),
        ("a/b=/models/b", ModelSpec(id="a/b", source="/models/b")),
        (
            '{"id": "a/b", "family": "flux", "defaults": {"num_inference_steps": 4}}',
            ModelSpec(id="a/b", family="flux", defaults={"num_inference_steps": 4}),
        ),
    ],
)
def test_one_model_on_the_command_line(text: str, expected: ModelSpec) -> None:
    """`sdq up --model` takes the shorthand, or one SDQ_MODELS entry as JSON (a family with it)."""
    assert ModelSpec.parse(text) == expected


def test_a1111_on_an_sd15_model_with_its_own_defaults_takes_them_where_left_out() -> None:
    """An sd-turbo style model (1 step, no guidance): A1111's 50 steps and cfg 7 are only its
    defaults for fields the client left out, which the model's own defaults replace."""
    spec = ModelSpec(id="a/turbo", defaults={"num_inference_steps": 1, "guidance_scale": 0})
    own = frozenset(spec.defaults.model_dump(exclude_none=True))
    left_out = native_input(Txt2ImgRequest.model_validate({"prompt": "dog"}), spec.rules, own)
    assert "num_inference_steps" not in left_out and "guidance_scale" not in left_out
    assert left_out["width"] == 512 and left_out["scheduler"] == "Euler"
    parsed = parse_input(left_out, InputLimits.for_model(spec, SETTINGS))
    assert (parsed.num_inference_steps, parsed.guidance_scale) == (1, 0)
    sent = native_input(Txt2ImgRequest.model_validate({"prompt": "d", "steps": 4}), spec.rules, own)
    assert sent["num_inference_steps"] == 4


def test_a1111_img2img_without_a_mask_hashes_as_before_inpainting() -> None:
    """The idempotency hash of an img2img call is what it was before the inpainting fields."""
    from api.a1111.shapes import Img2ImgRequest, hashed_body

    before = {"init_images", "denoising_strength", "resize_mode", *Txt2ImgRequest.model_fields}
    body = Img2ImgRequest.model_validate({"prompt": "d", "init_images": ["aW1n"]})
    assert set(hashed_body(body)) == before
    masked = Img2ImgRequest.model_validate({"prompt": "d", "init_images": ["aW1n"], "mask": "bQ=="})
    assert set(hashed_body(masked)) == before | {"mask"}


def test_a_default_sampler_may_be_any_of_its_names() -> None:
    spec = ModelSpec(id="a/b", defaults={"scheduler": "k_euler_ancestral"})
    assert spec.input_defaults()["scheduler"] == "Euler a"
