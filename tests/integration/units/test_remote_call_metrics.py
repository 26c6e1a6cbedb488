"""Calls to another unit in the caller's Prometheus metrics, on SQLite and PostgreSQL.

The shop split in two (tests/units_calls.py): the orders unit calls the catalog unit's app
over ASGI, through a transport the test can cut.
"""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from shop.catalog.api import CatalogService, NewProduct, UnknownProduct

from dolmen.units import RemoteCallError
from tests.units_calls import unit_app

LAMP = {"sku": "LAMP", "name": "Lamp", "price": "35.00", "stock": 5}


class Cable(httpx.AsyncBaseTransport):
    """The network between the units: the catalog unit's app, until it is cut."""

    def __init__(self, app: httpx.ASGITransport) -> None:
        self.app = app
        self.cut = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.cut:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.app.handle_async_request(request)


async def no_wait(seconds: float) -> None:
    return None


def samples(text: str, name: str) -> dict[tuple[str, ...], float]:
    found: dict[tuple[str, ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                labels = sample.labels
                key = (labels["unit"], labels["module"], labels["method"], labels["outcome"])
                found[key] = sample.value
    return found


async def test_remote_calls_are_counted_per_unit_method_and_outcome(database_url: str) -> None:
    schema = {"app": {"database_url": database_url, "database_schema": "create"}}
    catalog, _ = unit_app("catalog", database_url, config=schema)
    async with catalog.running():
        cable = Cable(httpx.ASGITransport(app=catalog))
        orders, _ = unit_app("orders", database_url, transport=cable, sleep=no_wait, config=schema)
        async with orders.running():
            async with orders.unit_of_work("orders") as work:
                remote = await work.get(CatalogService)
                await remote.add_product(NewProduct.model_validate(LAMP))
                assert (await remote.get_product("LAMP")).stock == 5
                with pytest.raises(UnknownProduct):
                    await remote.get_product("NOPE")
                cable.cut = True
                with pytest.raises(RemoteCallError):
                    await remote.get_product("LAMP")

            transport = httpx.ASGITransport(app=orders)
            async with httpx.AsyncClient(transport=transport, base_url="http://o") as client:
                text = (await client.get("/metrics")).text

    get = "CatalogService.get_product"
    assert samples(text, "dolmen_remote_calls_total") == {
        ("catalog", "catalog", "CatalogService.add_product", "ok"): 1.0,
        ("catalog", "catalog", get, "ok"): 1.0,
        ("catalog", "catalog", get, "error"): 1.0,
        ("catalog", "catalog", get, "unreachable"): 1.0,
    }
    durations = [
        line
        for line in text.splitlines()
        if line.startswith("dolmen_remote_call_duration_seconds_count")
        and f'method="{get}"' in line
    ]
    assert len(durations) == 1
    assert durations[0].endswith(" 3.0")
