"""Input edge cases decided one row each, on all three APIs: numbers sent as strings or true/false,
fractions where a whole number goes, control characters in prompts, keys given twice, JSON that
cannot be stored as text, too deep or with too many values. Each refusal is a 4xx JSON answer in
the dialect's shape, naming the field as the client wrote it and the rule, and creates no job: a
real API process (no worker) on real Redis, over loopback HTTP."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.json_body import MAX_VALUES
from tests.helpers import Stack

NATIVE, A1111, OPENAI = "/v1/predictions", "/sdapi/v1/txt2img", "/v1/images/generations"
IMG2IMG = "/sdapi/v1/img2img"
STATUS = {NATIVE: 422, A1111: 422, IMG2IMG: 422, OPENAI: 400}  # OpenAI's invalid requests: 400
PIXELS = 4096 * 4096  # SDQ_MAX_INIT_IMAGE_PIXELS


@dataclass(frozen=True)
class Problem:
    """What a refusal says, read from any of the three error shapes."""

    field: str | None
    text: str


def problem(path: str, body: Any) -> Problem:
    if path == OPENAI:
        return Problem(body["error"]["param"], body["error"]["message"])
    fields = body["errors"] if path.startswith("/sdapi") else body["invalid_fields"]
    return Problem(fields[0]["field"], f"{fields[0]['field']}: {fields[0]['description']}")


def native(**input_fields: Any) -> bytes:
    return json.dumps({"model": "sdq/tiny", "input": {"prompt": "a dog"} | input_fields}).encode()


def dialect(**fields: Any) -> bytes:
    return json.dumps({"prompt": "a dog"} | fields).encode()


def png_sized(width: int, height: int) -> str:
    """A PNG's signature and header alone, saying its size, in base64: what is read first."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode()


# (path, body, field, text): each refused with the dialect's status, naming `field`, saying `text`.
REFUSED = [
    # Lax coercions: a typed JSON API takes numbers as numbers.
    (NATIVE, native(width="64"), "input.width", "must be an integer (got the string '64')"),
    (A1111, dialect(width="64"), "width", "must be an integer (got the string '64')"),
    (NATIVE, native(width=512.5), "input.width", "must be a whole number (got 512.5)"),
    (A1111, dialect(width=512.5), "width", "must be a whole number (got 512.5)"),
    (NATIVE, native(num_outputs=True), "input.num_outputs", "must be an integer (got true)"),
    (A1111, dialect(batch_size=True), "batch_size", "must be an integer (got true)"),
    (OPENAI, dialect(n=True), "n", "must be an integer (got true)"),
    (OPENAI, dialect(n="2"), "n", "must be an integer (got the string '2')"),
    (OPENAI, dialect(n=1.5), "n", "must be a whole number (got 1.5)"),
    (NATIVE, native(guidance_scale="7.5"), "input.guidance_scale", "must be a number"),
    (A1111, dialect(cfg_scale="7.5"), "cfg_scale", "must be a number (got the string '7.5')"),
    (NATIVE, native(seed="42"), "input.seed", "must be an integer (got the string '42')"),
    (A1111, dialect(seed="42"), "seed", "must be an integer (got the string '42')"),
    (NATIVE, native(prompt=123), "input.prompt", "must be a string (got 123)"),
    (A1111, dialect(prompt=123), "prompt", "must be a string (got 123)"),
    (OPENAI, dialect(prompt=123), "prompt", "must be a string (got 123)"),
    (OPENAI, dialect(size=512), "size", "must be a string (got 512)"),
    (A1111, dialect(send_images="false"), "send_images", "must be true or false"),
    (
        NATIVE,
        json.dumps({"model": "sdq/tiny", "input": {"prompt": "d"}, "priority": "2"}).encode(),
        "priority",
        "must be an integer (got the string '2')",
    ),
    # Control characters other than tab, newline and carriage return.
    (NATIVE, native(prompt="a\x00b"), "input.prompt", "U+0000 at offset 1"),
    (NATIVE, native(negative_prompt="\x1b[2J"), "input.negative_prompt", "U+001B at offset 0"),
    (A1111, dialect(prompt="dog\x00"), "prompt", "U+0000 at offset 3"),
    (A1111, dialect(negative_prompt="x\x07"), "negative_prompt", "U+0007 at offset 1"),
    (OPENAI, dialect(prompt="d\x00g"), "prompt", "U+0000 at offset 1"),
    # A key given twice: which one counts differs between parsers.
    (
        NATIVE,
        b'{"model": "sdq/tiny", "input": {"prompt": "a", "prompt": "b"}}',
        "input.prompt",
        "is given more than once in the same object",
    ),
    (
        NATIVE,
        b'{"model": "sdq/tiny", "model": "sdq/tiny", "input": {"prompt": "a"}}',
        "model",
        "more than once",
    ),
    (A1111, b'{"prompt": "a", "steps": 20, "steps": 30}', "steps", "more than once"),
    (OPENAI, b'{"prompt": "a", "n": 1, "n": 8}', "n", "more than once"),
    # Text that is not Unicode, or not UTF-8.
    (
        NATIVE,
        b'{"model": "sdq/tiny", "input": {"prompt": "a\\ud800"}}',
        "input.prompt",
        "unpaired UTF-16 surrogate \\ud800 at offset 1",
    ),
    (A1111, b'{"prompt": "\\udfff"}', "prompt", "unpaired UTF-16 surrogate \\udfff"),
    (OPENAI, b'{"prompt": "x", "user": "\\ud800"}', "user", "unpaired UTF-16 surrogate"),
    (NATIVE, b'{"model": "sdq/tiny", "input": {"\\ud800": 1}}', "input", "has a key with"),
    (A1111, b'{"prompt": "\xff"}', "body", "is not UTF-8: byte 0xff at offset 12"),
    (OPENAI, b'{"prompt": "\xc3"}', "body", "is not UTF-8: byte 0xc3 at offset 12"),
    # Python's json reads NaN and Infinity; JSON has neither.
    (A1111, b'{"prompt": "x", "cfg_scale": NaN}', "body", "has NaN, which is not JSON"),
    (
        NATIVE,
        b'{"model": "sdq/tiny", "input": {"prompt": "x", "seed": Infinity}}',
        "body",
        "has Infinity",
    ),
    # JSON Python cannot read: the digit limit and the nesting limit.
    (NATIVE, b'{"priority": ' + b"1" * 5000 + b"}", "body", "has an integer of more than"),
    (A1111, b'{"x": ' + b"[" * 300 + b"]" * 300 + b"}", "x" + ".0" * 63, "more than 64 deep"),
    (A1111, b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "body", "nests arrays and objects"),
    # Counted before parsing: parsed, `{},` weighs 25 times its 3 bytes.
    (NATIVE, native(x=[{}] * MAX_VALUES), "body", f"has more than {MAX_VALUES} values and keys"),
    (A1111, dialect(x=[[]] * MAX_VALUES), "body", f"has more than {MAX_VALUES} values and keys"),
    (OPENAI, dialect(x=[0] * MAX_VALUES), "body", f"has more than {MAX_VALUES} values and keys"),
    # Starting images: pixels are counted before any is decoded (Pillow's own limit is higher).
    (NATIVE, native(image=png_sized(4104, 4096)), "input.image", f"at most {PIXELS} are accepted"),
    (NATIVE, native(image=png_sized(20_000, 20_000)), "input.image", "has too many pixels"),
    (IMG2IMG, dialect(init_images=[png_sized(20_000, 20_000)]), "init_images", f"most {PIXELS}"),
    # A syntax error names the body and the place, never a character offset as a field.
    (NATIVE, b'{"model": "sdq/tiny",}', "body", "invalid JSON at line 1 column 22"),
    (A1111, b'{"prompt": "x" "steps": 2}', "body", "line 1 column 16 (expecting ',' delimiter)"),
    (OPENAI, b'{"prompt": "x"', "body", "invalid JSON at line 1 column 15"),
]


def row_id(row: tuple[str, bytes, str, str]) -> str:
    path, _, field, text = row
    return f"{path.split('/')[-1]}-{field}-{text[:28]}"


@pytest.fixture
def client(api: Stack) -> Iterator[httpx.Client]:
    with api.http() as http:
        yield http


def newest_ids(client: httpx.Client) -> list[str]:
    page = client.get("/v1/predictions", params={"limit": 5})
    assert page.status_code == 200, page.text
    return [item["id"] for item in page.json()["results"]]


def post(client: httpx.Client, path: str, body: bytes) -> httpx.Response:
    return client.post(path, content=body, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("path", "body", "field", "text"), REFUSED, ids=[row_id(r) for r in REFUSED]
)
def test_refused_naming_the_field_and_creating_nothing(
    client: httpx.Client, path: str, body: bytes, field: str, text: str
) -> None:
    before = newest_ids(client)
    response = post(client, path, body)
    assert response.status_code == STATUS[path], response.text
    assert response.headers["content-type"] == "application/json"
    said = problem(path, response.json())
    assert said.field == field, response.text
    assert text in said.text, response.text
    assert newest_ids(client) == before, "a refused request created a job"


# (input fields sent, the stored input's values): accepted, normalized to the declared type.
ACCEPTED = [
    ({"width": 512.0, "height": 64.0}, {"width": 512, "height": 64}),
    ({"num_outputs": 2.0, "seed": 42.0}, {"num_outputs": 2, "seed": 42}),
    ({"guidance_scale": 7}, {"guidance_scale": 7.0}),
    ({"prompt": "tab\tnew\nline\r\n🐕 \u00fc"}, {"prompt": "tab\tnew\nline\r\n🐕 \u00fc"}),
    ({"prompt": "\ud83d\udc15"}, {"prompt": "\U0001f415"}),  # a surrogate pair: one character
]


@pytest.mark.parametrize(("sent", "stored"), ACCEPTED)
def test_accepted_and_stored_as_the_declared_type(
    client: httpx.Client, sent: dict[str, Any], stored: dict[str, Any]
) -> None:
    body = json.dumps({"model": "sdq/tiny", "input": {"prompt": "a dog"} | sent})
    created = post(client, NATIVE, body.encode())  # ensure_ascii: the pair travels escaped
    assert created.status_code == 201, created.text
    prediction_id = created.json()["id"]
    try:
        kept = client.get(f"/v1/predictions/{prediction_id}").json()["input"]
        for key, value in stored.items():
            assert kept[key] == value and type(kept[key]) is type(value), kept
    finally:
        client.post(f"/v1/predictions/{prediction_id}/cancel")
