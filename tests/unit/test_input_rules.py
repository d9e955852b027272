"""The input rules a fuzzer misses, one row each: JSON types taken as sent (no string read as a
number, no true/false as 1/0, `512.0` is 512), control characters in prompts, and bodies that
parse but are ambiguous (a key given twice) or cannot be stored (a lone surrogate)."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from api.a1111 import shapes as a1111
from api.json_body import MAX_VALUES, BodyRefused, loads
from api.openai_images import shapes as openai_images
from sdq.inputs import InputLimits, InvalidInput, control_character, parse_input
from sdq.json_types import Number, OptionalWholeNumber, Text, TruthValue, WholeNumber

LIMITS = InputLimits(min_size=64, max_size=2048, max_prompt_chars=2000)
OK = {"prompt": "a pretty dog"}


class Fields(BaseModel):
    whole: WholeNumber = 0
    maybe: OptionalWholeNumber = None
    number: Number = 0.0
    text: Text = ""
    truth: TruthValue = False


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("whole", 512, 512),
        ("whole", 512.0, 512),  # JSON has one number type: a whole float is that integer
        ("whole", -1.0, -1),
        ("maybe", None, None),
        ("maybe", 42.0, 42),
        ("number", 7, 7.0),
        ("number", 7.5, 7.5),
        ("text", "a", "a"),
        ("truth", True, True),
    ],
)
def test_json_types_take_their_own_json_type(field: str, value: Any, expected: Any) -> None:
    parsed = getattr(Fields.model_validate({field: value}), field)
    assert parsed == expected and type(parsed) is type(expected)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("whole", "64", "must be an integer (got the string '64')"),
        ("whole", True, "must be an integer (got true)"),
        ("whole", 512.5, "must be a whole number (got 512.5)"),
        ("whole", float("nan"), "must be a whole number (got nan)"),
        ("whole", float("inf"), "must be a whole number (got inf)"),
        ("whole", None, "must be an integer (got null)"),
        ("whole", [1], "must be an integer (got an array)"),
        ("maybe", "42", "must be an integer (got the string '42')"),
        ("number", "7.5", "must be a number (got the string '7.5')"),
        ("number", False, "must be a number (got false)"),
        ("number", float("-inf"), "must be a finite number (got -inf)"),
        ("text", 123, "must be a string (got 123)"),
        ("text", None, "must be a string (got null)"),
        ("truth", 1, "must be true or false (got 1)"),
        ("truth", "false", "must be true or false (got the string 'false')"),
        ("whole", "x" * 40, f"(got the string '{'x' * 32}...')"),
    ],
)
def test_json_types_refuse_guesses(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Fields.model_validate({field: value})
    [error] = caught.value.errors(include_url=False)
    assert error["loc"] == (field,)
    assert message in error["msg"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"width": "64"}, "input.width", "must be an integer (got the string '64')"),
        ({"width": 512.5}, "input.width", "must be a whole number (got 512.5)"),
        ({"num_outputs": True}, "input.num_outputs", "must be an integer (got true)"),
        ({"guidance_scale": "7.5"}, "input.guidance_scale", "must be a number"),
        ({"seed": "42"}, "input.seed", "must be an integer (got the string '42')"),
        ({"prompt": 123}, "input.prompt", "must be a string (got 123)"),
        ({"prompt": "a\x00b"}, "input.prompt", "U+0000 at offset 1"),
        ({"negative_prompt": "ok\x1b[31m"}, "input.negative_prompt", "U+001B at offset 2"),
        ({"prompt": "a\x7fb"}, "input.prompt", "U+007F at offset 1"),
        ({"prompt": "a\x85b"}, "input.prompt", "U+0085 at offset 1"),
        ({"prompt_strength": "0.5"}, "input.prompt_strength", "must be a number"),
        ({"preview_every": 2.5}, "input.preview_every", "must be a whole number (got 2.5)"),
    ],
)
def test_native_input_refuses_and_names_the_field(
    change: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_input(OK | change, LIMITS)
    [problem] = caught.value.fields
    assert problem.field == field
    assert message in problem.description


def test_whole_floats_are_stored_as_integers() -> None:
    change = {"width": 512.0, "height": 64.0, "num_outputs": 2.0, "seed": 42.0}
    parsed = parse_input(OK | change, LIMITS).model_dump()
    assert {key: parsed[key] for key in change} == {
        "width": 512,
        "height": 64,
        "num_outputs": 2,
        "seed": 42,
    }
    assert all(type(parsed[key]) is int for key in change)


@pytest.mark.parametrize("prompt", ["tab\there", "two\nlines", "crlf\r\nend", "ünïcode ✓ 🐕"])
def test_tab_newline_carriage_return_and_unicode_are_prompts(prompt: str) -> None:
    assert control_character(prompt) is None
    assert parse_input({"prompt": prompt}, LIMITS).prompt == prompt


def test_control_character_names_the_first_and_its_offset() -> None:
    assert control_character("ab\x01c\x00") == (
        "must not contain control characters: U+0001 at offset 2 "
        "(tab, newline and carriage return are allowed)"
    )


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"width": "64"}, "width", "must be an integer (got the string '64')"),
        ({"steps": 20.5}, "steps", "must be a whole number (got 20.5)"),
        ({"batch_size": True}, "batch_size", "must be an integer (got true)"),
        ({"cfg_scale": "7"}, "cfg_scale", "must be a number (got the string '7')"),
        ({"seed": "42"}, "seed", "must be an integer (got the string '42')"),
        ({"send_images": "false"}, "send_images", "must be true or false"),
        ({"prompt": 123}, "prompt", "must be a string (got 123)"),
    ],
)
def test_a1111_request_refuses_guesses(body: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        a1111.Txt2ImgRequest.model_validate(body)
    [error] = caught.value.errors(include_url=False)
    assert error["loc"] == (field,) and message in error["msg"]


def test_a1111_whole_floats_reach_the_job_as_integers() -> None:
    body = a1111.Txt2ImgRequest.model_validate(
        {"prompt": "dog", "width": 512.0, "steps": 20.0, "seed": 7.0, "cfg_scale": 7}
    )
    parsed = parse_input(a1111.native_input(body), LIMITS)
    assert (parsed.width, parsed.num_inference_steps, parsed.seed) == (512, 20, 7)
    assert body.parameters()["width"] == 512


def test_a1111_control_character_is_named_as_the_client_sent_it() -> None:
    body = a1111.Txt2ImgRequest.model_validate({"prompt": "dog", "negative_prompt": "\x00"})
    with pytest.raises(InvalidInput) as caught:
        parse_input(a1111.native_input(body), LIMITS)
    renamed = caught.value.renamed(a1111.FIELD_NAMES)
    assert [f.field for f in renamed.fields] == ["negative_prompt"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"prompt": "dog", "n": "2"}, "n", "must be an integer (got the string '2')"),
        ({"prompt": "dog", "n": True}, "n", "must be an integer (got true)"),
        ({"prompt": "dog", "n": 1.5}, "n", "must be a whole number (got 1.5)"),
        ({"prompt": 123}, "prompt", "must be a string (got 123)"),
        ({"prompt": "dog", "size": 512}, "size", "must be a string (got 512)"),
    ],
)
def test_openai_request_refuses_guesses(body: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        openai_images.GenerationsRequest.model_validate(body)
    [error] = caught.value.errors(include_url=False)
    assert error["loc"] == (field,) and message in error["msg"]


def test_openai_n_as_a_whole_float_is_taken() -> None:
    assert openai_images.GenerationsRequest.model_validate({"prompt": "d", "n": 2.0}).n == 2


# (body, field, description): JSON that parses, refused by the body reader.
REFUSED_BODIES = [
    pytest.param(
        b'{"input": {"prompt": "a", "prompt": "b"}}',
        "input.prompt",
        "is given more than once in the same object",
        id="duplicate nested key",
    ),
    pytest.param(b'{"a": 1, "a": 1}', "a", "more than once", id="duplicate even when equal"),
    pytest.param(
        b'{"x": [{"k": 1}, {"k": 1, "k": 2}]}', "x.1.k", "more than once", id="duplicate in array"
    ),
    pytest.param(
        b'{"input": {"prompt": "a\\ud800b"}}',
        "input.prompt",
        "an unpaired UTF-16 surrogate \\ud800 at offset 1",
        id="lone high surrogate",
    ),
    pytest.param(
        b'{"input": {"prompt": "\\udc00"}}', "input.prompt", "\\udc00 at offset 0", id="lone low"
    ),
    pytest.param(
        b'{"input": {"\\ud800": 1}}', "input", "has a key with an unpaired", id="in a key"
    ),
    pytest.param(b'{"p": "\xff"}', "body", "is not UTF-8: byte 0xff at offset 7", id="not utf-8"),
    pytest.param(
        b'{"p": "\xed\xa0\x80"}', "body", "is not UTF-8: byte 0xed at offset 7", id="raw surrogate"
    ),
    pytest.param(
        b'{"seed": ' + b"9" * 5000 + b"}", "body", "has an integer of more than", id="huge integer"
    ),
    pytest.param(b'{"cfg_scale": NaN}', "body", "has NaN, which is not JSON", id="NaN"),
    pytest.param(b"[-Infinity]", "body", "has -Infinity", id="-Infinity"),
    pytest.param(
        b'{"x": ' + b"[" * 64 + b"]" * 64 + b"}",
        "x" + ".0" * 63,
        "nests arrays and objects more than 64 deep",
        id="65 levels",
    ),
    pytest.param(
        b'{"k": {"a": 1, "a": 2}}'.replace(b"a", b"a" * 100),
        "k." + "a" * 64 + "...",
        "more than once",
        id="a long key cut",
    ),
    pytest.param(b"[" * 5_000 + b"]" * 5_000, "body", "nests", id="nested too deep"),
    pytest.param(
        b"[" + b"0," * (MAX_VALUES - 1) + b"0]",
        "body",
        f"has more than {MAX_VALUES} values and keys",
        id="one value too many",
    ),
    pytest.param(
        b"{" + b",".join(b'"k%d": 0' % i for i in range(MAX_VALUES // 2)) + b"}",
        "body",
        "values and keys (each array, object, string, number, true, false, null and object key",
        id="keys count",
    ),
    pytest.param(b"[" + b"{}," * 4 * MAX_VALUES + b"{}]", "body", "more than", id="objects"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "body", "more than", id="100,000 arrays"),
]


@pytest.mark.parametrize(("body", "field", "description"), REFUSED_BODIES)
def test_bodies_that_parse_but_are_refused(body: bytes, field: str, description: str) -> None:
    with pytest.raises(BodyRefused) as caught:
        loads(body)
    assert caught.value.field == field
    assert description in caught.value.description
    json.dumps(caught.value.field).encode()  # the answer naming it can be sent as UTF-8


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"input": {"prompt": "\\ud83d\\udc15"}}', {"input": {"prompt": "\U0001f415"}}),
        (b'{"a": {"k": 1}, "b": {"k": 2}}', {"a": {"k": 1}, "b": {"k": 2}}),  # same key, 2 objects
        (b'\xef\xbb\xbf{"a": 1}', {"a": 1}),  # a UTF-8 byte order mark is ignored
        (b'{"p": "\\\\ud800"}', {"p": "\\ud800"}),  # an escaped backslash: no surrogate
        (b"[1, 2.5, null]", [1, 2.5, None]),
        (b"[" * 64 + b"]" * 64, json.loads(b"[" * 64 + b"]" * 64)),  # 64 levels: taken
        # MAX_VALUES values and keys: the array and its elements.
        (b"[" + b"0," * (MAX_VALUES - 2) + b"0]", [0] * (MAX_VALUES - 1)),
        (b'{"p": "' + b",[{" * MAX_VALUES + b'"}', {"p": ",[{" * MAX_VALUES}),  # text: not values
    ],
)
def test_bodies_read_as_json(body: bytes, expected: Any) -> None:
    assert loads(body) == expected


def test_a_syntax_error_stays_a_json_decode_error_with_its_place() -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        loads(b'{"prompt": "x",}')
    assert not isinstance(caught.value, BodyRefused)
    assert caught.value.pos == 15


def test_the_integer_digit_limit_is_python_s() -> None:
    with pytest.raises(BodyRefused, match=str(sys.get_int_max_str_digits())):
        loads(b"9" * (sys.get_int_max_str_digits() + 1))
