"""``Inject``: module services in FastAPI route handlers, through ``Depends``."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request

if TYPE_CHECKING:
    from dolmen.http._served import RequestWork

WORK_KEY = "dolmen.work"
ENDPOINTS_KEY = "dolmen.endpoints"
"""Scope key of the map from route endpoint functions to the module that contributed them."""


def Inject(key: Any) -> Any:
    """A FastAPI dependency that resolves the service ``key`` for this request.

    ``orders: OrderService = Inject(OrderService)`` in a route of module
    ``orders`` gets the service as module ``orders`` sees it, from the
    request's unit of work.
    """
    return Depends(_resolver(key))


@functools.cache
def _resolver(key: Any) -> Callable[[Request], Awaitable[Any]]:
    async def resolve(request: Request) -> Any:
        work, module = current_work(request)
        return await work.get(key, module)

    resolve.__name__ = f"inject_{getattr(key, '__name__', 'service')}"
    resolve.__dolmen_key__ = key  # type: ignore[attr-defined]  # read by injected_keys()
    return resolve


def injected_keys(router: APIRouter) -> Iterator[tuple[str, Any]]:
    """Every (route path, service key) that ``Inject`` asks for in ``router``'s routes."""
    for route in router.routes:
        dependant = getattr(route, "dependant", None)
        if dependant is not None:
            for key in _keys(dependant):
                yield getattr(route, "path", "?"), key


def _keys(dependant: Any) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        key = getattr(dependency.call, "__dolmen_key__", None)
        if key is not None:
            yield key
        yield from _keys(dependency)


def current_work(request: Request) -> tuple[RequestWork, str]:
    """The request's unit of work and the module whose route is serving it."""
    scope = request.scope
    work = scope.get(WORK_KEY)
    module = scope.get(ENDPOINTS_KEY, {}).get(scope.get("endpoint"))
    if work is None or module is None:
        raise RuntimeError(
            "Inject() found no unit of work: it works only in routes a Dolmen module "
            "contributes (Module(routers=[...])) of a started App (serve it with its "
            "lifespan, or 'async with app.running():')"
        )
    return work, module


def endpoint_modules(routers: Iterable[tuple[str, APIRouter]]) -> dict[Any, str]:
    """Which module each route endpoint function belongs to (routers as (module, router))."""
    modules: dict[Any, str] = {}
    for module, router in routers:
        for route in router.routes:
            endpoint = getattr(route, "endpoint", None)
            if endpoint is not None:
                modules[endpoint] = module
    return modules
