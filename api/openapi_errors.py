"""The published API description says how each operation fails, in its dialect's shape: the
error statuses sdq answers and the body each comes with (not FastAPI's default validation
error, which sdq never sends)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

# Any operation: a refused Host or header (400, 421), no or a bad key (401), a key without the
# role or a cross-site call (403), a missing resource (404), a state that forbids it (409), an
# oversized body, URL or head (413, 414, 431), bad input (422; OpenAI's 400), a limit reached
# (429), Redis away (503).
COMMON = ("400", "401", "403", "404", "409", "413", "414", "421", "422", "429", "431", "503")
# Operations that change state may also wait for a result that does not come in time (504) or
# find no room to store a starting image (507).
STATE_CHANGING = ("504", "507")
DESCRIPTIONS = {
    "400": "Bad request: a malformed header or body",
    "401": "No API key, or one that is not accepted",
    "403": "The key may not do this, or a page of another site sent it",
    "404": "Not found (or another tenant's)",
    "409": "Conflicts with the resource's state",
    "413": "The body is larger than allowed",
    "414": "The URL is longer than allowed",
    "421": "A Host this server does not answer to",
    "422": "Invalid input: each field and its limit",
    "429": "A limit was reached: see Retry-After",
    "431": "The request line and headers are larger than allowed",
    "503": "Unavailable for now (Redis away, a model that cannot load): see Retry-After",
    "504": "The wait for the result ran out; the prediction goes on",
    "507": "No room to store the starting image (a full disk or bucket quota)",
}
FIELD_ERRORS = {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}}
SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": {
        "type": "object",
        "required": ["title", "detail", "status"],
        "properties": {
            "title": {"type": "string"},
            "detail": {"type": "string"},
            "status": {"type": "integer"},
            "invalid_fields": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/FieldError"},
            },
        },
    },
    "FieldError": {
        "type": "object",
        "required": ["field", "description"],
        "properties": {"field": {"type": "string"}, "description": {"type": "string"}},
    },
    "A1111Error": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {
            "error": {"type": "string"},
            "detail": {"type": "string"},
            "body": {"type": "string"},
            "errors": FIELD_ERRORS,
        },
    },
    "OpenAIError": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message", "type"],
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "param": {"type": ["string", "null"]},
                    "code": {"type": ["string", "null"]},
                },
            }
        },
    },
}
FASTAPI_DEFAULTS = ("HTTPValidationError", "ValidationError")


def error_schema(path: str) -> str:
    """The error body's schema of the dialect the path belongs to (as `api.errors.error_body`)."""
    if path.startswith("/v1/images"):
        return "OpenAIError"
    if path.startswith("/sdapi"):
        return "A1111Error"
    return "Problem"


def error_statuses(path: str, method: str) -> tuple[str, ...]:
    statuses = COMMON + (STATE_CHANGING if method.upper() in {"POST", "PUT", "DELETE"} else ())
    if path.startswith("/v1/images"):  # OpenAI answers invalid requests with 400
        statuses = tuple(status for status in statuses if status != "422")
    return statuses


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with every operation's error responses in its dialect's shape (in place)."""
    for path, operations in spec.get("paths", {}).items():
        schema_ref = {"$ref": f"#/components/schemas/{error_schema(path)}"}
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's own; sdq's, where it answers one, is below
            for status in error_statuses(path, method):
                # A status the route documents itself (/readyz's 503) keeps its own body.
                responses.setdefault(
                    status,
                    {
                        "description": DESCRIPTIONS[status],
                        "content": {"application/json": {"schema": schema_ref}},
                    },
                )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_DEFAULTS:
        schemas.pop(name, None)
    schemas.update(SCHEMAS)
    return spec


def install_error_docs(app: FastAPI) -> None:
    """Make `app.openapi()` describe each operation's errors (computed once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            app.openapi_schema = document_errors(spec)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
