"""The shop split across processes: the catalog unit served by uvicorn in a process of its own.

The orders unit runs in the test's process (over ASGI, with an in-memory span exporter); its
calls reach the catalog unit's process on 127.0.0.1, which writes down the context headers
each call carried (catalog_unit.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from shop.catalog.api import CatalogService

from dolmen import App
from dolmen.units import RemoteCallError
from tests.e2e.conftest import _free_port, _stop, answers_healthz, kill_server, start_server
from tests.units_calls import unit_app

REPO = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("catalog_unit.py")
LAMP = {"sku": "LAMP", "name": "Lamp", "price": "35.00", "stock": 5}


@dataclass
class CatalogUnit:
    url: str
    port: int
    database_url: str
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def record(self) -> Path:
        return self.folder / "calls.jsonl"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOLMEN_")}
        env.update(
            PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "examples")]),
            PYTHONUNBUFFERED="1",
            DOLMEN__APP__DATABASE_SCHEMA="create",
        )
        log = self.folder / "catalog.log"
        command = [sys.executable, str(SCRIPT), str(self.port), self.database_url, str(self.record)]
        process = start_server(command, self.folder, env, log)
        self.process = process
        if not answers_healthz(self.url, process):
            _stop(process)
            pytest.fail(f"the catalog unit did not start; its output:\n{log.read_text()}")

    def calls(self) -> list[dict[str, str]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]


@pytest.fixture
def catalog_unit(database_url: str, tmp_path: Path) -> Iterator[CatalogUnit]:
    port = _free_port()
    unit = CatalogUnit(f"http://127.0.0.1:{port}", port, database_url, tmp_path)
    unit.start()
    with httpx.Client(base_url=unit.url) as client:
        assert client.post("/catalog/products", json=LAMP).status_code == 201
    yield unit
    if unit.process is not None:
        _stop(unit.process)


@pytest.fixture
async def orders_unit(catalog_unit: CatalogUnit, second_database_url: str) -> AsyncIterator[App]:
    app, _ = unit_app("orders", second_database_url, catalog_url=catalog_unit.url)
    async with app.running():
        yield app


def client_of(app: App) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://orders")


async def test_an_order_across_two_processes_is_one_trace_with_one_request_id(
    exported: InMemorySpanExporter, catalog_unit: CatalogUnit, orders_unit: App
) -> None:
    order = {"customer_email": "ada@example.com", "items": [{"sku": "LAMP", "quantity": 2}]}
    async with client_of(orders_unit) as client:
        placed = await client.post("/orders", json=order, headers={"X-Request-ID": "req-e2e"})
        assert placed.status_code == 201, placed.text
        await orders_unit.drain_events(within=30)
        assert (await client.get(f"/orders/{placed.json()['id']}")).json()["status"] == "paid"
        unknown = {**order, "items": [{"sku": "NOPE", "quantity": 1}]}
        refused = await client.post("/orders", json=unknown)

    assert refused.status_code == 404
    assert refused.json()["detail"] == "no product with SKU 'NOPE'"
    async with httpx.AsyncClient(base_url=catalog_unit.url) as catalog:
        assert (await catalog.get("/catalog/products/LAMP")).json()["stock"] == 3
    calls = [
        s.context
        for s in exported.get_finished_spans()
        if s.name == "orders -> catalog.CatalogService.reserve" and s.context is not None
    ]
    seen = catalog_unit.calls()
    assert [c["traceparent"].rsplit("-", 1)[0] for c in seen] == [
        f"00-{c.trace_id:032x}-{c.span_id:016x}" for c in calls
    ]  # each call's request in the catalog unit is a child of its call span in orders
    first = seen[0]
    assert first["x-request-id"] == "req-e2e"


async def test_calls_reach_the_catalog_unit_again_once_it_is_back_after_a_kill(
    catalog_unit: CatalogUnit, orders_unit: App
) -> None:
    async with orders_unit.unit_of_work("orders") as work:
        catalog = await work.get(CatalogService)
        assert (await catalog.get_product("LAMP")).stock == 5  # a pooled connection now
        assert catalog_unit.process is not None
        kill_server(catalog_unit.process)

        with pytest.raises(RemoteCallError, match="could not reach unit 'catalog'"):
            await catalog.reserve([], "r-1")

        catalog_unit.start()  # same port, same database
        assert (
            await catalog.reserve([], "r-2") == []
        )  # not @idempotent: a fresh connection, no retry
        assert (await catalog.get_product("LAMP")).stock == 5
