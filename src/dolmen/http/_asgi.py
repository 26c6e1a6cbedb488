"""Build the FastAPI application that serves a Dolmen app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline

from dolmen._version import __version__
from dolmen.http._entry import RequestMiddleware
from dolmen.http._errors import route_templates
from dolmen.http._inject import endpoint_modules
from dolmen.http._openapi import install_truthful_openapi
from dolmen.http._problems import install_problem_handlers
from dolmen.http._routes import mount_router

if TYPE_CHECKING:
    from dolmen.http._served import ServedApp, ServedModule

DOCS_ASSETS = "/_dolmen/docs-assets"
"""Where the JavaScript, CSS and icon of ``/docs`` and ``/redoc`` are served."""


def create_fastapi(
    app: ServedApp,
    routers: Sequence[APIRouter] = (),
    *,
    modules: Sequence[ServedModule] | None = None,
) -> FastAPI:
    """A FastAPI app with every module's routers and problem+json errors.

    Each module router is mounted under its module's prefix (``/<module>`` unless the
    module says otherwise); ``routers`` (the app's extensions', the health probes among
    them) are mounted at the root, first. ``modules`` are those whose routes it serves
    (default: every module of the app; a process of one deployment unit serves its
    own). The ASGI lifespan starts and stops the Dolmen
    app. ``/docs`` (Swagger UI) and ``/redoc`` load their assets from the app itself.
    ``App.asgi()`` calls it with the extensions' routers.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await app.start()
        try:
            yield
        finally:
            await app.stop()

    served = app.modules if modules is None else modules
    # Swagger UI and ReDoc from files fastapi-offline ships, not a CDN: /docs works offline.
    api = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title=app.name,
        version=__version__,
        lifespan=lifespan,
        description=f"Modules: {', '.join(m.name for m in served)}.",
    )
    install_problem_handlers(api, app.error_map)
    install_truthful_openapi(api)
    mounted = [(module, router) for module in served for router in module.routers]
    endpoints = endpoint_modules((module.name, router) for module, router in mounted)
    templates = route_templates((module.prefix, router) for module, router in mounted)
    api.add_middleware(
        RequestMiddleware, dolmen_app=app, endpoints=endpoints, route_templates=templates
    )
    for router in routers:
        mount_router(api, router)
    for module, router in mounted:
        mount_router(api, router, module.prefix)
    return api
