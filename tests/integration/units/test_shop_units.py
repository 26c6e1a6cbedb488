"""The shop split into three deployment units sharing one database, on SQLite and PostgreSQL.

Each unit is an App of the same shop code with a different ``[units] current``: the
storefront (catalog and orders), billing and notifications. Their events cross through the
shared outbox: each unit's dispatcher claims its own handlers' deliveries.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
from shop.app import create_app
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dolmen import App
from dolmen.persistence import normalize_url

QUIET = {"configure_logging": False}


def unit(database_url: str, name: str) -> App:
    """The shop as the process of unit ``name`` runs it."""
    config = {
        "app": {"database_url": database_url},
        "units": {"current": name},
        "observability": QUIET,
    }
    return create_app(config)


@contextlib.asynccontextmanager
async def engine_of(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(normalize_url(database_url))
    try:
        yield engine
    finally:
        await engine.dispose()


def _table_names(connection: Any) -> set[str]:
    found = inspect(connection)
    if connection.dialect.name == "sqlite":
        return set(found.get_table_names())
    schemas = set(found.get_schema_names()) - {"information_schema", "public"}
    return {name for schema in schemas for name in found.get_table_names(schema=schema)}


async def tables_in(database_url: str) -> set[str]:
    """The tables of the database, as ``<module>__<table>`` on both databases."""
    async with engine_of(database_url) as engine, engine.connect() as connection:
        return await connection.run_sync(_table_names)


async def order_ids_in(database_url: str, module: str, table: str) -> list[str]:
    """The ``order_id`` of each row of ``module``'s ``table``, one per row."""
    async with engine_of(database_url) as engine, engine.connect() as connection:
        name = f"{module}__{table}"
        if connection.dialect.name != "sqlite":
            name = f'"{module}"."{name}"'
        rows = await connection.execute(text(f"SELECT order_id FROM {name}"))
        return [str(order_id) for (order_id,) in rows]


async def settle(*apps: App, rounds: int = 10) -> None:
    """Run each unit's dispatcher until a round delivers nothing more (bounded)."""
    for _ in range(rounds):
        before = [await pending(app) for app in apps]
        for app in apps:
            await app.drain_events()
        if before == [0] * len(apps) and [await pending(app) for app in apps] == before:
            return
    raise AssertionError(f"events still flow after {rounds} rounds")


async def pending(app: App) -> int:
    return sum(s.pending + s.in_flight for s in await app.events.stats())


async def test_the_shop_split_in_three_units_settles_every_order_once(database_url: str) -> None:
    billing = unit(database_url, "billing")
    async with billing.running():  # first, on the fresh database: only its own tables
        billing_tables = await tables_in(database_url)
    assert "billing__payments" in billing_tables
    assert not [t for t in billing_tables if t.startswith(("catalog__", "orders__"))]
    assert "/orders" not in billing.asgi().openapi()["paths"]
    assert "/catalog/products" not in billing.asgi().openapi()["paths"]

    storefront = unit(database_url, "storefront")
    notifications = unit(database_url, "notifications")
    async with storefront.running(), billing.running(), notifications.running():
        transport = httpx.ASGITransport(app=storefront)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            cheap = await add_product(client, "CHEAP", Decimal("10.00"))
            dear = await add_product(client, "DEAR", Decimal("2000.00"))  # above charge_limit
            placed = [await place_order(client, f"c{i}@example.com", sku) for i, sku in
                      enumerate([cheap, dear, cheap, cheap, dear])]  # fmt: skip
            await settle(storefront, billing, notifications)
            statuses = [(await client.get(f"/orders/{o}")).json()["status"] for o in placed]
    assert statuses == ["paid", "payment_failed", "paid", "paid", "payment_failed"]
    assert sorted(await order_ids_in(database_url, "billing", "payments")) == sorted(placed)
    paid = [o for o, status in zip(placed, statuses, strict=True) if status == "paid"]
    notified = await order_ids_in(database_url, "notifications", "notifications")
    assert sorted(notified) == sorted(paid)


async def test_each_unit_claims_only_its_own_handlers_deliveries(database_url: str) -> None:
    storefront, billing = unit(database_url, "storefront"), unit(database_url, "billing")
    async with storefront.running():
        transport = httpx.ASGITransport(app=storefront)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            sku = await add_product(client, "LAMP", Decimal("35.00"))
            order = await place_order(client, "ada@example.com", sku)
            await storefront.drain_events()
            # billing's delivery waits for a process of the billing unit, not dead nor run.
            [charge] = await storefront.events.stats()
            assert (charge.handler, charge.pending, charge.unhandled) == (
                "billing.charge_order",
                1,
                True,
            )
            async with billing.running():
                await billing.drain_events()
                assert await order_ids_in(database_url, "billing", "payments") == [order]
            await storefront.drain_events()
            assert (await client.get(f"/orders/{order}")).json()["status"] == "paid"
            # notifications' delivery waits for its unit in turn.
            assert [s.handler for s in await storefront.events.stats()] == [
                "notifications.notify_order_paid"
            ]
            assert await storefront.events.dead_letters() == []


async def add_product(client: httpx.AsyncClient, sku: str, price: Decimal) -> str:
    product = {"sku": sku, "name": sku.title(), "price": str(price), "stock": 100}
    response = await client.post("/catalog/products", json=product)
    assert response.status_code == 201, response.text
    return sku


async def place_order(client: httpx.AsyncClient, email: str, sku: str) -> str:
    order = {"customer_email": email, "items": [{"sku": sku, "quantity": 1}]}
    response = await client.post("/orders", json=order)
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    return order_id
