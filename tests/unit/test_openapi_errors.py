"""The published description documents each operation's errors in its dialect's shape, and
refers to no schema it does not define."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from api.app import create_app
from sdq.settings import Settings

DIALECTS = [  # (path, method, error schema, statuses that must be documented, absent)
    ("/v1/predictions", "post", "Problem", {"401", "422", "429", "503", "504"}, set()),
    ("/v1/predictions/{prediction_id}", "get", "Problem", {"404", "401"}, {"504"}),
    ("/sdapi/v1/txt2img", "post", "A1111Error", {"422", "429", "504"}, set()),
    ("/v1/images/generations", "post", "OpenAIError", {"400", "429"}, {"422"}),
]


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    described: dict[str, Any] = create_app(Settings(), "redis://127.0.0.1:1/0").openapi()
    return described


@pytest.mark.parametrize(("path", "method", "schema", "present", "absent"), DIALECTS)
def test_errors_are_documented_in_the_dialects_shape(
    spec: dict[str, Any], path: str, method: str, schema: str, present: set[str], absent: set[str]
) -> None:
    responses = spec["paths"][path][method]["responses"]
    assert present <= set(responses) and not absent & set(responses)
    for status in present:
        body = responses[status]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{schema}"}, status


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    refs = set(re.findall(r"#/components/schemas/([A-Za-z0-9_.-]+)", json.dumps(spec)))
    assert refs <= set(spec["components"]["schemas"])
    assert "HTTPValidationError" not in spec["components"]["schemas"]
