"""``Inject``: module services in FastAPI route handlers, through ``Depends``."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, Request

from dolmen.modules import Work

WORK_KEY = "dolmen.work"
MODULE_KEY = "dolmen.module"


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
    return resolve


def current_work(request: Request) -> tuple[Work, str]:
    """The request's unit of work and the module whose route is serving it."""
    work = request.scope.get(WORK_KEY)
    module = request.scope.get(MODULE_KEY)
    if work is None or module is None:
        raise RuntimeError(
            "Inject() works only in routes a Dolmen module contributes: add the router "
            "to Module(routers=[...]) and serve the App"
        )
    return work, module


def module_marker(module: str) -> Any:
    """A router-level dependency that records which module serves the request."""

    async def mark(request: Request) -> None:
        request.scope[MODULE_KEY] = module

    mark.__name__ = f"module_{module}"
    return Depends(mark)
