"""An exception that knows its HTTP answer (``dolmen.http.ProblemError``): its status, no crash."""

from __future__ import annotations

import logging
from typing import ClassVar

import httpx
import pytest
from fastapi import APIRouter

from dolmen import App, Module
from dolmen.http import PROBLEM_JSON, ProblemError

router = APIRouter()


class GatewayDown(ProblemError, ConnectionError):
    """The payment gateway a route depends on does not answer."""

    http_status: ClassVar[int] = 503

    def problem_detail(self) -> str:
        return "Payments are unavailable for a moment; retry later."


@router.get("/charge")
async def charge() -> None:
    raise GatewayDown("gateway pay.internal:8443 refused the connection")


async def test_a_problem_error_is_answered_with_its_status_and_public_detail(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = {"app": {"database_url": database_url}, "observability": {"configure_logging": False}}
    app = App("payments", [Module("billing", routers=[router])], config=config)
    async with app.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://p") as client:
            with caplog.at_level(logging.INFO, logger="dolmen.http"):
                response = await client.get("/billing/charge")

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "Payments are unavailable for a moment; retry later.",
        "request_id": response.headers["x-request-id"],
    }
    [logged] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert logged.levelno == logging.WARNING
    assert logged.exc_info is None
    assert "pay.internal:8443" in logged.getMessage()  # for the operator only
