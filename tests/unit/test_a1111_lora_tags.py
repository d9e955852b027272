"""AUTOMATIC1111's `<lora:NAME:WEIGHT>` prompt tags, one row per form: taken out of the prompt
as A1111 does and turned into the job's adapters; other forms refused naming the prompt."""

from __future__ import annotations

from typing import Any

import pytest

from api.a1111.lora_tags import lora_tags
from sdq.inputs import InvalidField, InvalidInput


@pytest.mark.parametrize(
    ("prompt", "left", "loras"),
    [
        ("a dog", "a dog", []),
        ("a dog <lora:red:0.5>", "a dog ", [{"name": "red", "scale": 0.5}]),
        ("<lora:red>a dog", "a dog", [{"name": "red", "scale": 1.0}]),
        ("<lora:red:1>, <lora:blue.v2:-0.25> x", ",  x",
         [{"name": "red", "scale": 1.0}, {"name": "blue.v2", "scale": -0.25}]),
        ("a <lora: red : 2 > dog", "a  dog", [{"name": "red", "scale": 2.0}]),
        ("<lora:red:.5>", "", [{"name": "red", "scale": 0.5}]),
        ("a <hypernet:x:1> dog", "a <hypernet:x:1> dog", []),  # other networks: left as text
    ],
)  # fmt: skip
def test_tags_become_adapters_and_leave_the_prompt(
    prompt: str, left: str, loras: list[dict[str, Any]]
) -> None:
    assert lora_tags(prompt) == (left, loras)


@pytest.mark.parametrize(
    "prompt",
    [
        "<lora:red:0.5:0.8>",
        "<lora::1>",
        "<lora:red:strong>",
        "<lora:red:nan>",
        "<lora:>",
        "<lora:red:1_0>",
        "<lora:red:\u0661>",
        "<lora:red:1e999>",
    ],
)
def test_other_forms_are_refused_naming_the_prompt(prompt: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        lora_tags(f"a dog {prompt}")
    assert caught.value.fields == [
        InvalidField("input.prompt", f"{prompt} must be <lora:NAME> or <lora:NAME:WEIGHT>")
    ]


@pytest.mark.parametrize(
    ("field", "renamed"),
    [
        ("input.loras", "prompt"),
        ("input.loras.1.name", "prompt"),
        ("input.prompt", "prompt"),
        ("input.seed", "seed"),
        ("input.unknown", "input.unknown"),
    ],
)
def test_a_field_inside_a_renamed_one_takes_its_name(field: str, renamed: str) -> None:
    names = {"input.loras": "prompt", "input.prompt": "prompt", "input.seed": "seed"}
    assert InvalidInput([InvalidField(field, "x")]).renamed(names).fields[0].field == renamed
