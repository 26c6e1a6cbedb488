"""A call to another unit that fails, seen by the client of the caller's HTTP API.

The orders unit of the shop split in two (tests/units_calls.py) places an order, which calls
``catalog.reserve`` in the catalog unit; the network is an ``httpx.MockTransport`` that fails
as told. The client gets a problem+json of 502, 503 or 504, never a 500, and the operator
one warning with what happened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from dolmen.http import PROBLEM_JSON
from tests.units_calls import unit_app

ORDER = {"customer_email": "ada@example.com", "items": [{"sku": "LAMP", "quantity": 1}]}


def refuse_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def time_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def crash(request: httpx.Request) -> httpx.Response:
    problem = {"status": 500, "title": "Internal Server Error", "request_id": "remote-1"}
    return httpx.Response(500, json=problem)


def refuse_signature(request: httpx.Request) -> httpx.Response:
    return httpx.Response(401, json={"status": 401, "detail": "the call is not signed"})


async def no_wait(seconds: float) -> None:
    return None


@pytest.mark.parametrize(
    ("network", "status", "logged"),
    [
        (refuse_connection, 503, "could not reach unit 'catalog'"),
        (time_out, 504, "timed out"),
        (crash, 502, "remote-1"),
        (refuse_signature, 502, "401"),
    ],
    ids=["unreachable", "timeout", "remote-crash", "refused"],
)
async def test_a_failed_call_to_another_unit_is_a_problem_of_its_own_status(
    database_url: str,
    caplog: pytest.LogCaptureFixture,
    network: Callable[[httpx.Request], httpx.Response],
    status: int,
    logged: str,
) -> None:
    orders, _ = unit_app(
        "orders",
        database_url,
        transport=httpx.MockTransport(network),
        sleep=no_wait,
        config={"app": {"database_url": database_url, "database_schema": "create"}},
    )
    async with orders.running():
        transport = httpx.ASGITransport(app=orders)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders") as client:
            with caplog.at_level(logging.INFO, logger="dolmen.http"):
                response = await client.post("/orders", json=ORDER)

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    assert "catalog.test" not in body["detail"]  # no internal address for the client
    warnings = [
        r for r in caplog.records if r.name == "dolmen.http" and r.levelno >= logging.WARNING
    ]
    assert [(r.levelno, r.exc_info) for r in warnings] == [(logging.WARNING, None)]  # no crash
    assert logged in warnings[0].getMessage()
    assert body["request_id"] in warnings[0].getMessage()
