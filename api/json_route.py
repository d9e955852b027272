"""The route class whose requests read JSON bodies with `api.json_body.loads` (strict) instead of
Starlette's plain `json.loads` (FastAPI parses the body through `Request.json()`), and which takes
an endpoint's fast lane (`api.fast_lane`) before FastAPI's handler."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from api.fast_lane import fast_lane_of, lanes_open
from api.json_body import loads


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """An APIRoute reading its JSON body strictly: `APIRouter(route_class=StrictJsonRoute)`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        lane = fast_lane_of(self.endpoint)

        async def strict(request: Request) -> Response:
            strict_request = StrictJsonRequest(request.scope, request.receive)
            taken = lane is not None and lanes_open(request)
            if taken and lane is not None and (answer := await lane(strict_request)) is not None:
                return answer
            # The same request object: a body the lane read is read from its cache.
            return await handler(strict_request)

        return strict
