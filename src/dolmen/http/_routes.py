"""Mounting routers on the app as plain routes: one match per request, not one per router.

FastAPI from 0.165 keeps an included router as a branch of the app's routes, matched (twice)
for every request before the routes after it: with a router per module, each request paid
for every router mounted before its own. Copying the routes of a router onto the app, as
``include_router`` did before, gives the same routes, OpenAPI and dependency overrides at
one match per route.
"""

from __future__ import annotations

import functools
import inspect

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

_SKIPPED = frozenset({"self", "path", "endpoint", "route_class_override"})


def mount_router(api: FastAPI, router: APIRouter, prefix: str = "") -> None:
    """Add ``router``'s routes to ``api`` under ``prefix``, as ``include_router`` would.

    A router that holds anything but API routes (websockets, mounts, included routers) or
    start-up and shut-down handlers is included as it is.
    """
    if not _copyable(router):
        api.include_router(router, prefix=prefix)
        return
    options = _route_options()
    for route in router.routes:
        assert isinstance(route, APIRoute)  # _copyable checked
        copied = {name: getattr(route, name) for name in options if hasattr(route, name)}
        api.router.add_api_route(
            prefix + route.path, route.endpoint, route_class_override=type(route), **copied
        )


def _copyable(router: APIRouter) -> bool:
    if router.on_startup or router.on_shutdown:
        return False
    if type(router.lifespan_context).__name__ != "_DefaultLifespan":
        return False  # a lifespan of its own: include_router merges it into the app's
    return all(isinstance(route, APIRoute) for route in router.routes)


@functools.cache
def _route_options() -> tuple[str, ...]:
    """The options of ``add_api_route`` in this FastAPI (each an attribute of the route)."""
    parameters = inspect.signature(APIRouter.add_api_route).parameters
    return tuple(name for name in parameters if name not in _SKIPPED)
