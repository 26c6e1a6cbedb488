"""The shop split in two units: catalog served by uvicorn on 127.0.0.1, orders calling it.

Each unit has its own database (two SQLite files, or two PostgreSQL databases). The orders
unit's app is driven over ASGI; its calls to the catalog go over the network to the real
server, signed, with the trace context and request id.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from shop.app import create_app
from shop.catalog.api import CatalogService
from starlette.types import ASGIApp, Receive, Scope, Send

from dolmen import App
from dolmen.units import RemoteCallError, RemoteCallTimeout
from tests.units_calls import unit_app

LAMP = {"sku": "LAMP", "name": "Lamp", "price": "35.00", "stock": 5}


@dataclass
class Recorded:
    """An ASGI app that notes the headers of each call it passes on to ``app``."""

    app: ASGIApp
    calls: list[dict[str, str]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/_units/"):
            self.calls.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1 (lifespan included): its URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if serving.done():
                    serving.result()
                    pytest.fail("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


@dataclass
class SplitShop:
    catalog: App
    orders: App
    catalog_url: str
    recorded: Recorded

    def client(self) -> httpx.AsyncClient:
        """An HTTP client of the orders unit (over ASGI)."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(self.orders), base_url="http://o")


@contextlib.asynccontextmanager
async def split_shop(catalog_db: str, orders_db: str, **units: Any) -> AsyncIterator[SplitShop]:
    catalog, _ = unit_app("catalog", catalog_db)
    recorded = Recorded(catalog)
    async with served(recorded) as url:
        orders, _ = unit_app("orders", orders_db, catalog_url=url, units=units)
        async with orders.running():
            async with httpx.AsyncClient(base_url=url) as direct:
                assert (await direct.post("/catalog/products", json=LAMP)).status_code == 201
            yield SplitShop(catalog, orders, url, recorded)


@pytest.fixture
async def shop(database_url: str, second_database_url: str) -> AsyncIterator[SplitShop]:
    async with split_shop(database_url, second_database_url) as split:
        yield split


async def stock(shop: SplitShop, sku: str = "LAMP") -> int:
    async with httpx.AsyncClient(base_url=shop.catalog_url) as client:
        response = await client.get(f"/catalog/products/{sku}")
    return int(response.json()["stock"])


async def test_an_order_placed_in_one_unit_reserves_stock_in_the_other(shop: SplitShop) -> None:
    order = {"customer_email": "ada@example.com", "items": [{"sku": "LAMP", "quantity": 2}]}
    async with shop.client() as client:
        placed = await client.post("/orders", json=order)
        assert placed.status_code == 201, placed.text
        await shop.orders.drain_events(within=30)
        paid = await client.get(f"/orders/{placed.json()['id']}")

    assert placed.json()["total"] == "70.00"
    assert paid.json()["status"] == "paid"
    assert await stock(shop) == 3
    assert len(shop.recorded.calls) == 1  # one call: reserve


async def test_an_unknown_sku_is_a_404_at_the_orders_api_as_in_one_process(
    shop: SplitShop, tmp_path: Path
) -> None:
    order = {"customer_email": "ada@example.com", "items": [{"sku": "NOPE", "quantity": 1}]}
    async with shop.client() as client:
        split = await client.post("/orders", json=order)
    one_process = create_app({"app": {"database_url": f"sqlite:///{tmp_path / 'one.db'}"},
                              "observability": {"configure_logging": False}})  # fmt: skip
    async with (
        one_process.running(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(one_process), base_url="http://one"
        ) as client,
    ):
        single = await client.post("/orders", json=order)

    assert split.status_code == single.status_code == 404
    assert split.json() == single.json()
    assert split.json()["detail"] == "no product with SKU 'NOPE'"


async def test_a_call_continues_the_caller_s_trace_and_request_id(
    database_url: str, second_database_url: str, exported: InMemorySpanExporter
) -> None:
    order = {"customer_email": "ada@example.com", "items": [{"sku": "LAMP", "quantity": 1}]}
    async with split_shop(database_url, second_database_url) as shop, shop.client() as client:
        placed = await client.post("/orders", json=order, headers={"X-Request-ID": "req-77"})
        assert placed.status_code == 201

    spans = {s.name: s for s in exported.get_finished_spans()}
    request = spans["POST /orders"]
    call = spans["orders -> catalog.CatalogService.reserve"]
    assert request.context is not None
    assert call.context is not None
    trace_id = f"{request.context.trace_id:032x}"
    (seen,) = shop.recorded.calls
    assert seen["traceparent"].startswith(f"00-{trace_id}-{call.context.span_id:016x}-")
    assert seen["x-request-id"] == "req-77"
    served_call = spans["POST /_units/call/{module}/{service}/{method}"]  # the callee's span
    assert served_call.context is not None
    assert served_call.parent is not None
    assert served_call.context.trace_id == request.context.trace_id
    assert served_call.parent.span_id == call.context.span_id


async def test_a_call_with_another_secret_is_refused(
    database_url: str, second_database_url: str
) -> None:
    async with split_shop(database_url, second_database_url) as shop:
        intruder, _ = unit_app(
            "orders",
            second_database_url,
            catalog_url=shop.catalog_url,
            units={"secret": "not-the-secret-of-this-shop-but-32-chars"},
        )
        async with intruder.running(), intruder.unit_of_work("orders") as work:
            catalog = await work.get(CatalogService)
            with pytest.raises(RemoteCallError) as refused:
                await catalog.get_product("LAMP")

        assert refused.value.status == 401
        assert "signature does not match" in str(refused.value)
        assert shop.recorded.calls  # it reached the catalog unit, which refused it


async def test_a_unit_that_does_not_answer_in_time_is_a_timeout(tmp_path: Path) -> None:
    done = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)  # takes the request, answers nothing until the test ends
        await done.wait()
        writer.close()

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    orders, _ = unit_app(
        "orders",
        f"sqlite:///{tmp_path / 'orders.db'}",
        catalog_url=f"http://127.0.0.1:{port}",
        units={"call_timeout_seconds": 0.2, "call_retries": 0},
    )
    try:
        async with orders.running(), orders.unit_of_work("orders") as work:
            catalog = await work.get(CatalogService)
            with pytest.raises(RemoteCallTimeout, match=r"catalog\.CatalogService\.get_product"):
                await catalog.get_product("LAMP")
    finally:
        done.set()
        listener.close()
        await listener.wait_closed()
