"""The API's error hierarchy and its one mapping to HTTP responses (Replicate's problem shape)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.json_body import BodyRefused
from sdq.inputs import InvalidField, InvalidInput

# Seconds a client is asked to wait after a 503. Redis is reached again on the next command once
# it is back, so a retry can succeed at once; 5 s is short against a restart or a Sentinel failover
# (typically 5-30 s) and long enough that retrying clients do not hammer a recovering server.
RETRY_AFTER_S = 5


class ApiError(Exception):
    status = 500
    title = "Internal error"
    headers: Mapping[str, str] = {}

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthorized(ApiError):
    status = 401
    title = "Unauthorized"

    def __init__(self, detail: str, challenge: str) -> None:
        super().__init__(detail)
        self.headers = {"WWW-Authenticate": challenge}


class Forbidden(ApiError):
    status = 403
    title = "Forbidden"


class Conflict(ApiError):
    status = 409
    title = "Conflict"


class TooManyRequests(ApiError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after_s)}


class NotFound(ApiError):
    status = 404
    title = "Not found"


class InvalidRequest(ApiError):
    status = 422
    title = "Input validation failed"

    def __init__(self, fields: list[InvalidField]) -> None:
        super().__init__("; ".join(f"{f.field}: {f.description}" for f in fields))
        self.fields = fields


class PayloadTooLarge(ApiError):
    status = 413
    title = "Request body too large"


class InsufficientStorage(ApiError):
    status = 507
    title = "Insufficient storage"


class GenerationFailed(ApiError):
    status = 500
    title = "Generation failed"


class GatewayTimeout(ApiError):
    status = 504
    title = "Still running"


class Unavailable(ApiError):
    status = 503
    title = "Service unavailable"

    def __init__(self, detail: str, retry_after_s: int = RETRY_AFTER_S) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


def invalid_json(doc: object, offset: int, reason: str) -> InvalidField:
    """`body` is not JSON: where it breaks, as line and column counted from 1 (like an editor and
    json.JSONDecodeError), from FastAPI's character offset into the decoded body."""
    text = doc if isinstance(doc, str) else ""
    line = text.count("\n", 0, offset) + 1
    column = offset - text.rfind("\n", 0, offset)
    why = f" ({reason[:1].lower()}{reason[1:]})" if reason else ""
    return InvalidField("body", f"invalid JSON at line {line} column {column}{why}")


def _fields_from_fastapi(error: RequestValidationError) -> list[InvalidField]:
    fields = []
    for item in error.errors():
        if item.get("type") == "json_invalid" and isinstance(error.__cause__, BodyRefused):
            fields.append(InvalidField(error.__cause__.field, error.__cause__.description))
            continue
        if item.get("type") == "json_invalid":
            loc = item.get("loc", ())
            offset = loc[-1] if loc and isinstance(loc[-1], int) else 0
            reason = str((item.get("ctx") or {}).get("error", ""))
            fields.append(invalid_json(error.body, offset, reason))
            continue
        loc = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "header")]
        message = str(item.get("msg", "is invalid")).removeprefix("Value error, ")
        if item.get("type") == "extra_forbidden":
            message = "is not a known field"
        fields.append(InvalidField(".".join(loc) or "body", message))
    return fields


def error_body(
    path: str, status: int, title: str, detail: str, fields: list[InvalidField]
) -> dict[str, Any]:
    """One error in the dialect of the API the client called: OpenAI's under `/v1/images`,
    AUTOMATIC1111's under `/sdapi`, Replicate's problem shape everywhere else."""
    invalid = [{"field": f.field, "description": f.description} for f in fields]
    if path.startswith("/v1/images"):
        kind = "invalid_request_error" if status < 500 else "server_error"
        param = fields[0].field if fields else None
        return {"error": {"message": detail, "type": kind, "param": param, "code": None}}
    if path.startswith("/sdapi"):
        return {"error": title, "detail": detail, "body": "", "errors": invalid}
    body: dict[str, Any] = {"title": title, "detail": detail, "status": status}
    return body | {"invalid_fields": invalid} if fields else body


def install_error_handlers(app: FastAPI) -> None:
    def respond(
        request: Request,
        error: ApiError,
        headers: Mapping[str, str] | None = None,
    ) -> JSONResponse:
        fields = error.fields if isinstance(error, InvalidRequest) else []
        path = request.url.path
        body = error_body(path, error.status, error.title, error.detail, fields)
        # OpenAI answers invalid requests with 400, and its clients expect that.
        status = 400 if error.status == 422 and path.startswith("/v1/images") else error.status
        if status == 503:
            wait = error.retry_after_s if isinstance(error, Unavailable) else RETRY_AFTER_S
            headers = {"Retry-After": str(wait)} | dict(headers or {})
        return JSONResponse(body, status_code=status, headers=headers)

    async def api_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        return respond(request, error, error.headers)

    async def invalid_input(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, InvalidInput)
        return respond(request, InvalidRequest(error.fields))

    async def fastapi_validation(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return respond(request, InvalidRequest(_fields_from_fastapi(error)))

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        plain = ApiError(str(error.detail))
        plain.status, plain.title = error.status_code, str(error.detail)
        return respond(request, plain, error.headers)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(InvalidInput, invalid_input)
    app.add_exception_handler(RequestValidationError, fastapi_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
