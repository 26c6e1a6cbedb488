"""``/healthz`` (the process is alive) and ``/readyz`` (it can reach what it needs).

The probes are an extension of the app (``dolmen.Extension``), the first every app has:
they learn the database when it opens and forget it when the app stops. Other extensions
add readiness checks of their own (the units another unit calls) with :meth:`add_check`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.responses import JSONResponse

from dolmen.http._openapi import problem_responses
from dolmen.http._problems import problem

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from dolmen.config import ConfigSection
    from dolmen.persistence import Database

logger = logging.getLogger("dolmen.http")

ReadinessCheck = Callable[[], Awaitable[None]]
"""``async def check() -> None``: returns when ready, raises (with a message) when not."""


class HealthProbes:
    """Liveness and readiness probes at the root, outside every module.

    ``GET /healthz`` answers 200 while the process runs; ``GET /readyz`` answers 200 when
    the app is started, ``SELECT 1`` succeeds on its database and every added check passes,
    else a 503 problem naming what failed. Every ``App`` has them; they implement the
    extension protocol without subclassing it (``dolmen.http`` does not import
    ``dolmen.modules``).
    """

    def __init__(self) -> None:
        self.database: Database | None = None
        self.checks: dict[str, ReadinessCheck] = {}

    def add_check(self, name: str, check: ReadinessCheck) -> None:
        """Make ``/readyz`` also run ``check``, reported as ``name`` (replaces one so named).

        An extension adds its checks in its ``configure(app, settings)``, finding the
        probes in ``app.extensions``. ``/readyz`` runs on every probe: a check that costs
        more than a local ping keeps its last answer for a few seconds.
        """
        self.checks[name] = check

    def section(self) -> ConfigSection | None:
        """No settings."""
        return None

    def interceptors(self) -> Sequence[Any]:
        """None."""
        return ()

    def delivery_interceptors(self) -> Sequence[Any]:
        """None."""
        return ()

    def local_modules(self, app: object, settings: object) -> Collection[str] | None:
        """No say in which modules run here."""
        return None

    async def configure(self, app: object, settings: object) -> None:
        """Nothing to configure."""

    async def on_database(self, database: Database) -> None:
        """The database ``/readyz`` pings, from now until the app stops."""
        self.database = database

    def event_routes(self, backend: object, wake: object) -> None:
        """No handler routed elsewhere."""
        return None

    async def start(self) -> None:
        """No background work."""

    async def stop(self) -> None:
        """The app stops: not ready any more."""
        self.database = None

    def routers(self) -> Sequence[APIRouter]:
        """The two probes."""
        return [self._router()]

    def wrap_asgi(self, asgi: ASGIApp) -> ASGIApp:
        """Unchanged."""
        return asgi

    def _router(self) -> APIRouter:
        router = APIRouter(tags=["health"])

        @router.get("/healthz", summary="The process is alive")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @router.get(
            "/readyz",
            summary="The app can serve: its database and what it calls answer",
            responses=problem_responses(
                503,
                descriptions={503: "The database, or something the app calls, does not answer."},
            ),
        )
        async def readyz() -> JSONResponse:
            try:
                if self.database is None:
                    raise RuntimeError("the app is not started")
                await self.database.ping()
            except Exception as error:
                logger.warning("readiness check failed: %s", error)
                return problem(503, f"database unreachable: {type(error).__name__}")
            failed = []
            for name, check in self.checks.items():
                try:
                    await check()
                except Exception as error:
                    logger.warning("readiness check %s failed: %s", name, error)
                    failed.append(name)
            if failed:
                return problem(503, f"not ready: {', '.join(failed)}", failed=failed)
            ok = {name: "ok" for name in self.checks}
            return JSONResponse({"status": "ready", "database": "ok", **ok})

        return router
