"""``/healthz`` (the process is alive) and ``/readyz`` (it can reach its database)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi import APIRouter
from starlette.responses import JSONResponse

from dolmen.http._openapi import problem_responses
from dolmen.http._problems import problem

if TYPE_CHECKING:
    from dolmen.modules import App

logger = logging.getLogger(__name__)


def health_router(app: App) -> APIRouter:
    """Liveness and readiness probes, outside every module."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="The app can serve: its database answers",
        responses=problem_responses(503, descriptions={503: "The database does not answer."}),
    )
    async def readyz() -> JSONResponse:
        try:
            if app.database is None:
                raise RuntimeError("the app is not started")
            await app.database.ping()
        except Exception as error:
            logger.warning("readiness check failed: %s", error)
            return problem(503, f"database unreachable: {type(error).__name__}")
        return JSONResponse({"status": "ready", "database": "ok"})

    return router
