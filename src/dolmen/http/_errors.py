"""Route templates, and the one log record of a crash or of a refusal by the database."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from fastapi import APIRouter
from starlette.types import Scope

from dolmen.http._database_errors import Refusal

logger = logging.getLogger("dolmen.http")

CRASH_DETAIL = (
    "The server could not complete the request; the error was logged. "
    "Quote the request_id when you report it."
)


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


def log_crash(
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


def log_refusal(scope: Scope, route: str, request_id: str, refusal: Refusal) -> None:
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
