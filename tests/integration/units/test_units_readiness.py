"""A unit's ``/readyz`` includes the units it calls, on SQLite and PostgreSQL.

The orders unit of the shop split in two (tests/units_calls.py) calls the catalog unit; the
network is an ``httpx.MockTransport`` on which the catalog unit is down or up.
"""

from __future__ import annotations

import httpx

from dolmen.modules import App
from tests.units_calls import unit_app


class Catalog:
    """The catalog unit as the network shows it: down, or answering its /healthz."""

    def __init__(self) -> None:
        self.up = False
        self.pings = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/healthz"
        self.pings += 1
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"status": "ok"})


def _unit(name: str, database_url: str, catalog: Catalog | None = None) -> App:
    """The shop's unit ``name`` on ``database_url``, its calls to catalog through ``catalog``."""
    app, _ = unit_app(
        name,
        database_url,
        transport=httpx.MockTransport(catalog.handle) if catalog else None,
        config={"app": {"database_url": database_url, "database_schema": "create"}},
    )
    return app


async def test_readyz_names_the_called_unit_that_is_down(database_url: str) -> None:
    catalog = Catalog()
    orders = _unit("orders", database_url, catalog)
    async with orders.running():
        transport = httpx.ASGITransport(app=orders)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders") as client:
            down = await client.get("/readyz")
            assert down.status_code == 503
            assert down.json()["failed"] == ["unit:catalog"]
            assert "unit:catalog" in down.json()["detail"]
            for _ in range(5):  # a burst of probes: the last answer is reused
                assert (await client.get("/readyz")).status_code == 503
            assert catalog.pings == 1
            assert (await client.get("/healthz")).status_code == 200  # alive all along

    catalog.up = True
    orders = _unit("orders", database_url, catalog)
    async with orders.running():
        transport = httpx.ASGITransport(app=orders)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders") as client:
            up = await client.get("/readyz")
    assert up.status_code == 200
    assert up.json() == {"status": "ready", "database": "ok", "unit:catalog": "ok"}


async def test_the_called_unit_has_no_check_of_its_callers(database_url: str) -> None:
    catalog = _unit("catalog", database_url)
    async with catalog.running():
        transport = httpx.ASGITransport(app=catalog)
        async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as client:
            ready = await client.get("/readyz")
    assert ready.json() == {"status": "ready", "database": "ok"}
