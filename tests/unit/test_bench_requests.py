"""`sdq bench`'s requests, as tables: which dialect a URL speaks, the body built for a prompt,
the model a body names, the headers sent, and what an answer says of its prediction."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cli.loadgen.answers import Answer, read_answer
from cli.loadgen.bodies import NeedsModel, named_model, prompt_body
from cli.loadgen.headers import create_headers, parse_headers, read_headers, redacted, waits
from cli.loadgen.targets import Dialect, Target, UnsupportedUrl, detect

H = "http://127.0.0.1:7860"
ID = "ahk7s6x554uupzllh6fk6ktcvk"


@pytest.mark.parametrize(
    ("url", "dialect", "base", "model"),
    [
        (f"{H}/v1/predictions", Dialect.NATIVE, H, None),
        (f"{H}/v1/predictions/", Dialect.NATIVE, H, None),
        (f"{H}/v1/models/sdq/tiny/predictions", Dialect.NATIVE, H, "sdq/tiny"),
        (f"{H}/sdapi/v1/txt2img", Dialect.A1111, H, None),
        (f"{H}/v1/images/generations", Dialect.OPENAI, H, None),
        ("https://gpu.example/sdq/v1/images/generations", Dialect.OPENAI,
         "https://gpu.example/sdq", None),
        ("http://[::1]:7860/sdapi/v1/txt2img?x=1", Dialect.A1111, "http://[::1]:7860", None),
    ],
)  # fmt: skip
def test_the_path_names_the_dialect_and_the_root(
    url: str, dialect: Dialect, base: str, model: str | None
) -> None:
    assert detect(url) == Target(url=url, dialect=dialect, base_url=base, model=model)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"{H}/sdapi/v1/img2img", "/sdapi/v1/img2img is no create endpoint"),
        (f"{H}/v1/predictions/{ID}", "is no create endpoint"),
        (H, "/ is no create endpoint"),
        ("ftp://host/v1/predictions", "not an http(s) URL"),
        ("127.0.0.1:7860/v1/predictions", "not an http(s) URL"),
    ],
)
def test_other_urls_are_refused_with_the_accepted_paths(url: str, says: str) -> None:
    with pytest.raises(UnsupportedUrl) as refused:
        detect(url)
    assert says in str(refused.value)


NATIVE = detect(f"{H}/v1/predictions")
NATIVE_PATH = detect(f"{H}/v1/models/sdq/tiny/predictions")
A1111 = detect(f"{H}/sdapi/v1/txt2img")
OPENAI = detect(f"{H}/v1/images/generations")


@pytest.mark.parametrize(
    ("target", "model", "body"),
    [
        (NATIVE, "sdq/tiny", {"model": "sdq/tiny", "input": {"prompt": "dog"}}),
        (NATIVE_PATH, None, {"input": {"prompt": "dog"}}),
        (NATIVE_PATH, "other/model", {"input": {"prompt": "dog"}}),  # the path's wins
        (A1111, None, {"prompt": "dog"}),
        (A1111, "sdq/tiny",
         {"prompt": "dog", "override_settings": {"sd_model_checkpoint": "sdq/tiny"}}),
        (OPENAI, None, {"prompt": "dog"}),
        (OPENAI, "sdq/tiny", {"prompt": "dog", "model": "sdq/tiny"}),
    ],
)  # fmt: skip
def test_a_prompt_becomes_the_dialects_smallest_body(
    target: Target, model: str | None, body: dict[str, Any]
) -> None:
    assert prompt_body(target, "dog", model) == body


def test_v1_predictions_without_a_model_asks_for_one() -> None:
    with pytest.raises(NeedsModel, match="--model"):
        prompt_body(NATIVE, "dog", None)


@pytest.mark.parametrize(
    ("target", "body", "model"),
    [
        (NATIVE_PATH, b'{"model": "x/y"}', "sdq/tiny"),
        (NATIVE, b'{"model": "sdq/tiny", "input": {}}', "sdq/tiny"),
        (NATIVE, b'{"version": "sdq/tiny:abc", "input": {}}', "sdq/tiny"),
        (NATIVE, b'{"input": {}}', None),
        (A1111, b'{"override_settings": {"sd_model_checkpoint": "sdq/tiny [a1b2]"}}', "sdq/tiny"),
        (A1111, b'{"prompt": "dog"}', None),
        (OPENAI, b'{"model": "dall-e-3"}', "dall-e-3"),
        (OPENAI, b"not json", None),
        (OPENAI, b"[1, 2]", None),
    ],
)
def test_the_model_a_body_names(target: Target, body: bytes, model: str | None) -> None:
    assert named_model(target, body) == model


@pytest.mark.parametrize(
    ("given", "parsed"),
    [
        ([], {}),
        (["Prefer: wait"], {"Prefer": "wait"}),
        (["Prefer:wait=30", "X-A: 1"], {"Prefer": "wait=30", "X-A": "1"}),
        (["x-a: 1", "X-A: 2"], {"X-A": "2"}),  # a repeated name: the last
        (["Authorization: Bearer a:b"], {"Authorization": "Bearer a:b"}),
    ],
)
def test_headers_are_name_colon_value(given: list[str], parsed: dict[str, str]) -> None:
    assert parse_headers(given) == parsed


@pytest.mark.parametrize("bad", ["Prefer wait", ": wait", "Pre fer: wait", " Prefer: wait"])
def test_a_header_without_a_name_and_colon_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="'Name: value'"):
        parse_headers([bad])


@pytest.mark.parametrize(
    ("given", "key", "sent"),
    [
        ({}, None, {"Content-Type": "application/json"}),
        ({}, "sdq_k", {"Content-Type": "application/json", "Authorization": "Bearer sdq_k"}),
        ({"authorization": "Bearer mine"}, "sdq_k",
         {"authorization": "Bearer mine", "Content-Type": "application/json"}),
        ({"content-type": "text/plain"}, None, {"content-type": "text/plain"}),
    ],
)  # fmt: skip
def test_creates_send_json_and_the_environments_key_unless_given(
    given: dict[str, str], key: str | None, sent: dict[str, str]
) -> None:
    assert create_headers(given, key) == sent


def test_reads_send_the_creates_headers_but_those_of_a_create() -> None:
    create = {"Prefer": "wait", "Content-Type": "application/json", "Idempotency-Key": "k",
              "Cancel-After": "5s", "Authorization": "Bearer k", "X-Trace": "1"}  # fmt: skip
    assert read_headers(create) == {"Authorization": "Bearer k", "X-Trace": "1"}


@pytest.mark.parametrize(
    ("headers", "waiting"),
    [
        ({"Prefer": "wait"}, True),
        ({"prefer": "respond-async, wait=30"}, True),
        ({"Prefer": "respond-async"}, False),
        ({}, False),
    ],
)
def test_prefer_wait_is_recognised(headers: dict[str, str], waiting: bool) -> None:
    assert waits(headers) is waiting


URL = f"{H}/v1/predictions"


def test_credentials_never_reach_the_recorded_command_line() -> None:
    argv = ["bench", "-H", "Authorization: Bearer sdq_secret", "-HX-Api-Key:abc",
            "--header=Cookie: s=1", "-H", "Prefer: wait", URL]  # fmt: skip
    assert redacted(argv) == ["bench", "-H", "Authorization: …", "-HX-Api-Key: …",
                              "--header=Cookie: …", "-H", "Prefer: wait", URL]  # fmt: skip


def prediction(status: str, **extra: Any) -> dict[str, Any]:
    return {"id": ID, "status": status, "metrics": {}, **extra}


@pytest.mark.parametrize(
    ("dialect", "body", "answer"),
    [
        (Dialect.NATIVE, prediction("starting"), Answer(ID, False, None)),
        (Dialect.NATIVE, prediction("processing", metrics={"queue_wait": 1.0}),
         Answer(ID, False, None)),
        (Dialect.NATIVE, prediction("succeeded", metrics={"queue_wait": 1, "predict_time": 2.5}),
         Answer(ID, True, (1.0, 2.5))),
        (Dialect.NATIVE, prediction("failed"), Answer(ID, True, None)),
        (Dialect.A1111, {"images": [], "info": json.dumps({"sdq_prediction_id": ID})},
         Answer(ID, True, None)),
        (Dialect.A1111, {"images": [], "info": "{}"}, Answer()),  # the original's info
        (Dialect.A1111, {"images": [], "info": "not json"}, Answer()),
        (Dialect.OPENAI, {"data": [{"url": f"{H}/v1/files/{ID}/out-0.png?exp=1&sig=x"}]},
         Answer(ID, True, None)),
        (Dialect.OPENAI, {"data": [{"url": f"https://s3.example/b/sdq/{ID}/out-0.png?X-Amz=1"}]},
         Answer(ID, True, None)),
        (Dialect.OPENAI, {"data": [{"b64_json": "iVBOR..."}]}, Answer()),
        (Dialect.OPENAI, {"data": [{"url": "https://cdn.example/img-abc.png"}]}, Answer()),
        (Dialect.OPENAI, [1], Answer()),
    ],
)  # fmt: skip
def test_what_an_answer_says_of_its_prediction(dialect: Dialect, body: Any, answer: Answer) -> None:
    assert read_answer(dialect, body) == answer
