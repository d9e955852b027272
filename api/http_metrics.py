"""Every HTTP answer noted once (status, time, route template) for the metrics and the access
log; counted by its route template (never the path itself: ids would make a series each),
including those refused before routing."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fastapi import routing
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sdq import metrics

UNMATCHED = "unmatched"
# Said of a request whose caller went away before any answer (nginx's "client closed request").
CLIENT_CLOSED = 499
# A label per method a client may invent would be a series each: others are `other`.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def flat_routes(routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """Every route of the app, those of included routers too (newer FastAPI versions keep an
    included router as one entry; older ones list its routes themselves)."""
    contexts = getattr(routing, "iter_route_contexts", None)
    if contexts is None:
        return list(routes)
    return [context.original_route for context in contexts(routes)]


def route_template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    """The template of the route that answered (`/v1/predictions/{prediction_id}`); for a request
    answered before routing (a refused key, a guard), the route its path would have reached;
    `unmatched` when none would."""
    route = scope.get("route")
    if route is None:
        partial = None
        for candidate in routes:
            match, _ = candidate.matches(scope)
            if match is Match.FULL:
                route = candidate
                break
            if match is Match.PARTIAL and partial is None:
                partial = candidate  # the path matches, the method does not (405)
        route = route or partial
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RouteTemplates:
    """The route template of a request, for the middlewares that see it after the answer."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.routes = routes  # the app's own list: routes added after the middleware count too
        self.flat: list[BaseRoute] | None = None  # listed at the first request, when all are in

    def __call__(self, scope: Scope) -> str:
        if "route" in scope:
            return route_template(scope, ())
        if self.flat is None:
            self.flat = flat_routes(self.routes)
        return route_template(scope, self.flat)


@dataclass(frozen=True)
class Answer:
    """One request once answered: what the metrics and the access log are told."""

    scope: Scope
    method: str  # one of METHODS, else `other`
    route: str  # the route template, or `unmatched`
    status: int  # CLIENT_CLOSED when the caller went away first
    duration_s: float


Observer = Callable[[Answer], None]


class AnsweredRequests:
    """Notes each HTTP request's status and time once its answer has been sent (or its caller
    has gone: 499; an error: 500) and tells each observer. Added outermost, so the answers of
    the guards and the error boundary are seen too."""

    def __init__(
        self, app: ASGIApp, routes: Sequence[BaseRoute], observers: Sequence[Observer]
    ) -> None:
        self.app = app
        self.template = RouteTemplates(routes)
        self.observers = observers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = CLIENT_CLOSED

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        except Exception:
            status = 500 if status == CLIENT_CLOSED else status
            raise
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            answer = Answer(
                scope, method, self.template(scope), status, time.perf_counter() - started
            )
            for observe in self.observers:
                observe(answer)


def record_metrics(answer: Answer) -> None:
    """`sdq_http_requests_total` and `sdq_http_request_duration_seconds` of one answer."""
    metrics.http_request(answer.route, answer.method, answer.status, answer.duration_s)
