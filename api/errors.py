"""The API's error hierarchy and its one mapping to HTTP responses (Replicate's problem shape)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sdq.inputs import InvalidField, InvalidInput


class ApiError(Exception):
    status = 500
    title = "Internal error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {"title": self.title, "detail": self.detail, "status": self.status}


class NotFound(ApiError):
    status = 404
    title = "Not found"


class InvalidRequest(ApiError):
    status = 422
    title = "Input validation failed"

    def __init__(self, fields: list[InvalidField]) -> None:
        super().__init__("; ".join(f"{f.field}: {f.description}" for f in fields))
        self.fields = fields

    def body(self) -> dict[str, Any]:
        invalid = [{"field": f.field, "description": f.description} for f in self.fields]
        return super().body() | {"invalid_fields": invalid}


class PayloadTooLarge(ApiError):
    status = 413
    title = "Request body too large"


class Unavailable(ApiError):
    status = 503
    title = "Service unavailable"


def _fields_from_fastapi(error: RequestValidationError) -> list[InvalidField]:
    fields = []
    for item in error.errors():
        loc = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "header")]
        message = str(item.get("msg", "is invalid")).removeprefix("Value error, ")
        if item.get("type") == "extra_forbidden":
            message = "is not a known field"
        fields.append(InvalidField(".".join(loc) or "body", message))
    return fields


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        return JSONResponse(error.body(), status_code=error.status)

    async def invalid_input(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, InvalidInput)
        return await api_error(_, InvalidRequest(error.fields))

    async def fastapi_validation(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return await api_error(_, InvalidRequest(_fields_from_fastapi(error)))

    async def http_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        body = {
            "title": str(error.detail),
            "detail": str(error.detail),
            "status": error.status_code,
        }
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(InvalidInput, invalid_input)
    app.add_exception_handler(RequestValidationError, fastapi_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
