"""The fast lanes (`api.fast_lane`) taken before FastAPI's router: the innermost middleware, so
every guard, the key check, the body limit, the metrics and the access log apply as to any route,
while the router's matching over every route and FastAPI's per-request machinery (request and
response wrappers, exit stacks) are skipped for the hottest calls. A lane that steps aside hands
the request, its body replayed, to FastAPI, which answers as it always has."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence

from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.fast_lane import FastLane, fast_lane_of, lanes_open
from api.http_metrics import flat_routes
from api.json_route import StrictJsonRequest

Handler = Callable[[Request, Exception], Awaitable[Response] | Response]


class HotRoutes:
    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes  # the app's own list, read at the first request, when all are in
        self._lanes: list[tuple[APIRoute, FastLane]] | None = None

    def lanes(self) -> list[tuple[APIRoute, FastLane]]:
        if self._lanes is None:
            self._lanes = [
                (route, lane)
                for route in flat_routes(self.routes)
                if isinstance(route, APIRoute) and (lane := fast_lane_of(route.endpoint))
            ]
        return self._lanes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            for route, lane in self.lanes():
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)  # the route, as the router would note it
                    await self._take(lane, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _take(self, lane: FastLane, scope: Scope, receive: Receive, send: Send) -> None:
        request = StrictJsonRequest(scope, receive)
        if not lanes_open(request):
            await self.app(scope, receive, send)
            return
        try:
            answer = await lane(request)
        except Exception as error:
            handler = exception_handler(scope, error)
            if handler is None:
                raise  # the error boundary's, as from any route
            answered = handler(request, error)
            answer = await answered if inspect.isawaitable(answered) else answered
        if answer is None:
            body = await request.body()
            await self.app(scope, replayed(body, receive), send)
            return
        await answer(scope, receive, send)


def exception_handler(scope: Scope, error: Exception) -> Handler | None:
    """The app's handler for `error`, found as Starlette's exception middleware finds it: by
    status code for an HTTPException, else by the error's classes, nearest first."""
    handlers = scope["app"].exception_handlers
    if isinstance(error, HTTPException) and error.status_code in handlers:
        found: Handler = handlers[error.status_code]
        return found
    for cls in type(error).__mro__:
        if cls in handlers:
            found = handlers[cls]
            return found
    return None


def replayed(body: bytes, receive: Receive) -> Receive:
    """`receive` with the body it already gave handed out once more, first."""
    pending = True

    async def again() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again
