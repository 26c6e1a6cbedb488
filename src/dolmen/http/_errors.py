"""The outermost Dolmen middleware: a request id on every response, every crash logged once."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from fastapi import APIRouter
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dolmen.http._database_errors import Refusal, refusal_for
from dolmen.http._problems import problem
from dolmen.http._request_id import REQUEST_ID_HEADER, REQUEST_ID_KEY, new_request_id

logger = logging.getLogger("dolmen.http")

CRASH_DETAIL = (
    "The server could not complete the request; the error was logged. "
    "Quote the request_id when you report it."
)


class ErrorMiddleware:
    """Gives each request an id and turns any exception left into one log record and a 500.

    The id is the client's ``X-Request-ID`` when it is short and printable, else a new one;
    it is echoed in the ``X-Request-ID`` response header. An exception that no handler
    took is logged once, with its traceback, the request id, the method and the route
    template (``/orders/{order_id}``), and answered with a 500 problem carrying the
    ``request_id``. Nothing propagates to the server, so it does not log the error again.
    An exception after the response started can only be logged: the server then closes
    the connection of the unfinished response.

    A database error that the request's values caused (a unique key already taken, a
    value the database cannot store) is a 409 or 422 problem instead, logged without a
    traceback; see :func:`~dolmen.http._database_errors.refusal_for`.
    """

    def __init__(self, app: ASGIApp, route_templates: Mapping[int, str]) -> None:
        self.app = app
        self.route_templates = route_templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Made by the outer observability middleware when there is one (one id per request).
        request_id = scope.get(REQUEST_ID_KEY) or new_request_id(scope)
        scope[REQUEST_ID_KEY] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                if REQUEST_ID_HEADER not in headers:
                    headers.append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            route = route_of(scope, self.route_templates)
            refusal = None if started else refusal_for(error)
            if refusal is not None:
                _log_refusal(scope, route, request_id, refusal)
                response = problem(refusal.status, refusal.detail)
            else:
                _log_crash(scope, route, request_id, error, started=started)
                if started:
                    return
                response = problem(500, CRASH_DETAIL, request_id=request_id)
            await response(scope, receive, send_with_id)


def route_templates(routers: Iterable[tuple[str, APIRouter]]) -> dict[int, str]:
    """The full template of each route of ``routers`` (as (prefix, router)), by route ``id``."""
    templates: dict[int, str] = {}
    for prefix, router in routers:
        for route in router.routes:
            path = getattr(route, "path", None)
            if isinstance(path, str):
                templates[id(route)] = prefix + path
    return templates


def route_of(scope: Scope, templates: Mapping[int, str]) -> str:
    """The template of the route that served the request (its path when none matched).

    ``templates`` has the full template of each module route, by ``id`` of the route:
    FastAPI may report the route as its router declared it, without the module's prefix.
    """
    route = scope.get("route")
    path = templates.get(id(route), getattr(route, "path", None))
    return path if isinstance(path, str) else str(scope.get("path", "?"))


def _log_crash(
    scope: Scope, route: str, request_id: str, error: Exception, *, started: bool
) -> None:
    method = scope.get("method", "?")
    when = " after the response started" if started else ""
    logger.error(
        "unhandled error in %s %s%s (request id %s)",
        method,
        route,
        when,
        request_id,
        exc_info=error,
        extra={"request_id": request_id, "method": method, "route": route},
    )


def _log_refusal(scope: Scope, route: str, request_id: str, refusal: Refusal) -> None:
    # A unique key taken by a concurrent request is business as usual; a value the
    # database cannot store means the app's validation missed a bound: worth a warning.
    level = logging.INFO if refusal.status == 409 else logging.WARNING
    method = scope.get("method", "?")
    logger.log(
        level,
        "the database refused %s %s with %d (request id %s): %s",
        method,
        route,
        refusal.status,
        request_id,
        refusal.cause,
        extra={"request_id": request_id, "method": method, "route": route},
    )
