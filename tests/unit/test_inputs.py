"""Input validation limits, one row per rule: each rejection names the field and the limit."""

from __future__ import annotations

from typing import Any

import pytest

from api.idempotency_key import input_as_sent
from sdq.inputs import GenerationInput, InputLimits, InvalidInput, parse_input

LIMITS = InputLimits(
    min_size=64, max_size=2048, max_prompt_chars=2000, max_loras=2, adapters=lambda: ("a", "b")
)


def lora(name: str, scale: float = 1.0) -> dict[str, Any]:
    return {"name": name, "scale": scale}


OK = {"prompt": "a pretty dog"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"width": 60}, "input.width", "between 64 and 2048"),
        ({"width": 2056}, "input.width", "between 64 and 2048"),
        ({"height": 100}, "input.height", "multiple of 8"),
        ({"num_inference_steps": 0}, "input.num_inference_steps", "greater than or equal to 1"),
        ({"num_inference_steps": 151}, "input.num_inference_steps", "less than or equal to 150"),
        ({"guidance_scale": -0.1}, "input.guidance_scale", "greater than or equal to 0"),
        ({"guidance_scale": 30.5}, "input.guidance_scale", "less than or equal to 30"),
        ({"num_outputs": 0}, "input.num_outputs", "greater than or equal to 1"),
        ({"num_outputs": 9}, "input.num_outputs", "less than or equal to 8"),
        ({"prompt": "x" * 2001}, "input.prompt", "at most 2000 characters"),
        ({"prompt": ""}, "input.prompt", "at least 1 character"),
        ({"negative_prompt": "x" * 2001}, "input.negative_prompt", "at most 2000 characters"),
        ({"scheduler": "Warp 9"}, "input.scheduler", "unknown scheduler 'Warp 9'; choose one of"),
        ({"seed": -1}, "input.seed", "greater than or equal to 0"),
        ({"seed": 2**32}, "input.seed", "less than or equal to 4294967295"),
        (
            {"scheduler": "PNDM", "num_inference_steps": 3},
            "input.num_inference_steps",
            "at least 4 with scheduler PNDM",
        ),
        ({"preview_every": 0}, "input.preview_every", "greater than or equal to 1"),
        ({"preview_every": 151}, "input.preview_every", "less than or equal to 150"),
        ({"colour": "red"}, "input.colour", "not a known input field"),
        (
            {"image": "k/input-0.png", "num_inference_steps": 1, "prompt_strength": 0.5},
            "input.num_inference_steps",
            "times prompt_strength (0.5) must be at least 1 step",
        ),
        ({"loras": [lora("a"), lora("b"), lora("a")]}, "input.loras", "at most 2 adapters"),
        ({"loras": [lora("a"), lora("a")]}, "input.loras", "names adapter 'a' more than once"),
        ({"loras": [lora("a", 2.5)]}, "input.loras.0.scale", "less than or equal to 2"),
        ({"loras": [lora("a", -0.1)]}, "input.loras.0.scale", "greater than or equal to 0"),
        ({"loras": [lora("../up")]}, "input.loras.0.name", "must be an adapter name"),
        (
            {"loras": [lora("a"), lora("c")]},
            "input.loras.1.name",
            "unknown adapter 'c'; this model's adapters: a, b",
        ),
        ({"loras": [{"name": "a", "weight": 1}]}, "input.loras.0.weight", "not a known input"),
        ({"loras": "a:0.5"}, "input.loras", "valid list"),
        ({"mask": "iVBORw0KGgo="}, "input.mask", "needs input.image"),
        ({"image": "k", "mask": "m", "mask_blur": 65}, "input.mask_blur", "less than or equal"),
        ({"image": "k", "mask": "m", "mask_blur": -1}, "input.mask_blur", "greater than or equal"),
        (
            {"image": "k", "mask": "m", "inpainting_fill": "noise"},
            "input.inpainting_fill",
            "'fill'",
        ),
        (
            {"image": "k", "mask": "m", "mask_crop_padding": 257},
            "input.mask_crop_padding",
            "less than or equal to 256",
        ),
    ],
)
def test_rejections_name_field_and_limit(change: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_input(OK | change, LIMITS)
    [problem] = caught.value.fields
    assert problem.field == field
    assert message in problem.description


def test_adapters_are_listed_only_when_a_job_asks_for_one() -> None:
    listed: list[int] = []

    def adapters() -> tuple[str, ...]:
        listed.append(1)
        return ("a",)

    limits = InputLimits(adapters=adapters)
    assert parse_input(OK, limits).loras == []
    assert listed == []
    assert parse_input(OK | {"loras": [lora("a", 0.5)]}, limits).loras[0].scale == 0.5
    assert listed == [1]


def test_a_stored_input_reads_back_without_the_deployments_limits() -> None:
    """A worker reads its job without context: what was accepted under raised limits holds."""
    raised = InputLimits(max_size=4096, max_prompt_chars=5000, max_loras=6, adapters=None)
    fields = {"prompt": "x" * 3000, "width": 4096, "loras": [lora(f"a{i}") for i in range(6)]}
    stored = parse_input(fields, raised).stored()
    assert GenerationInput.model_validate(stored).width == 4096


def test_a_request_without_adapters_hashes_as_before_adapters_existed() -> None:
    assert "loras" not in input_as_sent(parse_input(OK, LIMITS), OK)


def test_a_job_without_adapters_is_stored_as_before_adapters_existed() -> None:
    assert "loras" not in parse_input(OK, LIMITS).stored()
    chosen = parse_input(OK | {"loras": [lora("a", 0.5)]}, LIMITS).stored()
    assert chosen["loras"] == [{"name": "a", "scale": 0.5}]


def test_a_model_without_adapters_says_so() -> None:
    with pytest.raises(InvalidInput, match="none \\(this model has no adapters\\)"):
        parse_input(OK | {"loras": [lora("a")]}, InputLimits(adapters=lambda: ()))


def test_prompt_is_required() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_input({"width": 64}, LIMITS)
    assert [f.field for f in caught.value.fields] == ["input.prompt"]


def test_model_bounds_come_from_the_limits() -> None:
    small = InputLimits(min_size=64, max_size=256, max_prompt_chars=10)
    with pytest.raises(InvalidInput, match="between 64 and 256"):
        parse_input(OK | {"width": 512, "prompt": "dog"}, small)


def test_defaults_and_a_fixed_seed() -> None:
    parsed = parse_input(OK, LIMITS)
    assert (parsed.width, parsed.height, parsed.num_inference_steps) == (512, 512, 20)
    assert parsed.seed is not None and 0 <= parsed.seed < 2**32
    assert parse_input(OK | {"seed": 7}, LIMITS).seed == 7


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("K_EULER", "Euler"),
        ("euler_a", "Euler a"),
        ("DPMSolverMultistep", "DPM++ 2M"),
        ("ddim", "DDIM"),
    ],
)
def test_scheduler_aliases_are_canonicalised(given: str, canonical: str) -> None:
    assert parse_input(OK | {"scheduler": given}, LIMITS).scheduler == canonical


def test_input_must_be_an_object() -> None:
    with pytest.raises(InvalidInput, match="must be an object"):
        parse_input(["prompt"], LIMITS)


def test_a_job_without_a_mask_is_stored_without_the_inpainting_fields() -> None:
    plain = parse_input(OK, LIMITS).stored()
    assert not {"mask", "mask_blur", "inpainting_fill", "mask_crop_padding"} & set(plain)
    masked = parse_input(OK | {"image": "k/input-0.png", "mask": "k/mask.png"}, LIMITS).stored()
    assert masked["mask"] == "k/mask.png"
    assert (masked["mask_blur"], masked["inpainting_fill"]) == (4, "original")
