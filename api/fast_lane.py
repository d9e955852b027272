"""A route's fast lane: the common case of a hot route answered without FastAPI's per-request
dependency solving, which costs more than most create calls' own work. A lane reads what it needs
straight from the request; where anything is out of the ordinary (a body that is not valid JSON
or does not validate, another content type) it steps aside, and FastAPI's handler answers as it
always has: the same errors, in the same order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request, Response
from pydantic import TypeAdapter

# A lane answers the request, or returns None to leave it to FastAPI's handler. It must decide
# before anything is written: once it has begun the endpoint's work, it answers or raises.
FastLane = Callable[[Request], Awaitable[Response | None]]
_ATTRIBUTE = "__sdq_fast_lane__"
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def with_fast_lane(lane: FastLane) -> Callable[[Endpoint], Endpoint]:
    """Give an endpoint its fast lane (`api.hot_routes.HotRoutes` takes it)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _ATTRIBUTE, lane)
        return endpoint

    return mark


def fast_lane_of(endpoint: Callable[..., Any]) -> FastLane | None:
    lane: FastLane | None = getattr(endpoint, _ATTRIBUTE, None)
    return lane


# An app's switch (`app.state`), on unless set false (tests compare the two lanes).
STATE_SWITCH = "sdq_fast_lanes"


def lanes_open(request: Request) -> bool:
    return bool(getattr(request.app.state, STATE_SWITCH, True))


def sends_json(request: Request) -> bool:
    """The body is declared `application/json` (what FastAPI parses as JSON, `+json` types aside:
    those take the ordinary lane)."""
    content_type = request.headers.get("content-type", "")
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def sub_response() -> Response:
    """The `Response` an endpoint sets headers and status on, as FastAPI hands it one."""
    response = Response()
    del response.headers["content-length"]
    response.status_code = None  # type: ignore[assignment]
    return response


def json_answer(
    shape: TypeAdapter[Any], content: Any, status_code: int, endpoint_response: Response
) -> Response:
    """The endpoint's return value validated and serialized as its response model (what FastAPI
    does with `response_model`), with the status and headers the endpoint set."""
    body = shape.dump_json(shape.validate_python(content), by_alias=True)
    answer = Response(
        body,
        status_code=endpoint_response.status_code or status_code,
        media_type="application/json",
    )
    answer.headers.raw.extend(endpoint_response.headers.raw)
    return answer
