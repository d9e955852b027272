"""A body that is not JSON is a 4xx naming `body` and where the JSON breaks (line and column), in
each dialect's error shape: a real API process on real Redis, over loopback HTTP."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.helpers import Stack

AT = "invalid JSON at line"
QUOTED = "enclosed in double quotes"
# (body, the description the API gives): the offsets FastAPI reports, turned into line and column.
MALFORMED = [
    pytest.param(
        b'{"prompt": "x",}',
        f"{AT} 1 column 16 (expecting property name {QUOTED})",
        id="trailing comma",
    ),
    pytest.param(
        b'{\n  "prompt": "x",\n  "width": 64,\n}',
        f"{AT} 4 column 1 (expecting property name {QUOTED})",
        id="trailing comma on line 3",
    ),
    pytest.param(
        b'{\n  "prompt": "x"\n  "width": 64}',
        f"{AT} 3 column 3 (expecting ',' delimiter)",
        id="missing comma",
    ),
    pytest.param(b"not json", f"{AT} 1 column 1 (expecting value)", id="not json"),
    pytest.param(b'{"prompt": "x"', f"{AT} 1 column 15 (expecting ',' delimiter)", id="cut short"),
    pytest.param(
        '{"prompt": "ü",}'.encode(),
        f"{AT} 1 column 16 (expecting property name {QUOTED})",
        id="columns count characters",
    ),
]


def post(api: Stack, path: str, body: bytes) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    return httpx.post(f"{api.url}{path}", content=body, headers=headers, timeout=30)


@pytest.mark.parametrize(("body", "description"), MALFORMED)
def test_native_names_body_and_the_place(api: Stack, body: bytes, description: str) -> None:
    response = post(api, "/v1/predictions", body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["invalid_fields"] == [{"field": "body", "description": description}]
    assert problem["detail"] == f"body: {description}"


@pytest.mark.parametrize(("body", "description"), MALFORMED)
def test_a1111_names_body_and_the_place(api: Stack, body: bytes, description: str) -> None:
    response = post(api, "/sdapi/v1/txt2img", body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["errors"] == [{"field": "body", "description": description}]
    assert error["detail"] == f"body: {description}"


@pytest.mark.parametrize(("body", "description"), MALFORMED)
def test_openai_names_body_and_the_place(api: Stack, body: bytes, description: str) -> None:
    client = openai.OpenAI(base_url=f"{api.url}/v1", api_key="unused", max_retries=0, timeout=30)
    with pytest.raises(openai.BadRequestError) as caught:
        client.post(
            "/images/generations",
            cast_to=object,
            content=body,
            options={"headers": {"Content-Type": "application/json"}},
        )
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["param"] == "body" and error["message"] == f"body: {description}"
    assert error["type"] == "invalid_request_error"
