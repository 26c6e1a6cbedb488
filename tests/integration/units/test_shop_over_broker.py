"""The shop split in three units, each with its own database, its events crossing a broker.

Each unit is an App of the shop's code with ``[units] current`` set and a broker transport:
the storefront (catalog and orders), billing and notifications, on SQLite files or
PostgreSQL databases of their own, over the in-memory transport and each real broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from shop.billing.module import module as billing_module
from shop.catalog.module import module as catalog_module
from shop.notifications.module import module as notifications_module
from shop.orders.module import module as orders_module

from dolmen import App
from dolmen.events import Envelope
from dolmen.units import (
    InMemoryBroker,
    InMemoryTransport,
    NatsTransport,
    OnBatch,
    RabbitMQTransport,
    RedisTransport,
    Transport,
    TransportSubscription,
    Units,
    UnitsSettings,
)
from tests.conftest import fresh_postgres_databases
from tests.integration.units.conftest import Broker
from tests.integration.units.test_shop_units import add_product, order_ids_in, place_order

UNITS = ("storefront", "billing", "notifications")
SHOP_DIR = Path(__file__).parents[3] / "examples" / "shop"
CLOSED_PORT = 1
"""Nothing listens there: connecting is refused at once."""


class SentTwice:
    """A transport that sends every batch twice: each message reaches its unit twice."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def open(self) -> None:
        await self.transport.open()

    async def close(self) -> None:
        await self.transport.close()

    async def ping(self) -> None:
        await self.transport.ping()

    async def send(self, destination: str, envelopes: Sequence[Envelope]) -> None:
        await self.transport.send(destination, envelopes)
        await self.transport.send(destination, envelopes)

    async def subscribe(self, destination: str, on_batch: OnBatch) -> TransportSubscription:
        return await self.transport.subscribe(destination, on_batch)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A database of its own for each unit: SQLite files, or fresh PostgreSQL databases."""
    if request.param == "sqlite":
        yield {name: f"sqlite:///{tmp_path / f'{name}.db'}" for name in UNITS}
        return
    with fresh_postgres_databases(len(UNITS)) as urls:
        yield dict(zip(UNITS, urls, strict=True))


def unit(name: str, database_url: str, broker: Broker, namespace: str, *, twice: bool) -> App:
    """The shop as the process of unit ``name`` runs it, its events through ``broker``."""

    def transport(settings: UnitsSettings) -> Transport:
        made = broker.make()
        return SentTwice(made) if twice else made

    config = {
        "app": {"database_url": database_url},
        "units": {
            "current": name,
            "transport": "rabbitmq",  # any broker: the test's factory makes the transport
            "broker_url": "amqp://unused",
            "broker_namespace": namespace,
        },
        "observability": {"configure_logging": False},
    }
    return App(
        "shop",
        modules=[catalog_module, orders_module, billing_module, notifications_module],
        config=config,
        config_dir=SHOP_DIR,
        extensions=[Units(transport=transport)],
    )


@pytest.mark.parametrize("twice", [False, True], ids=["once", "redelivered"])
async def test_every_order_settles_once_across_three_units_and_their_databases(
    broker: Broker, destination: str, databases: dict[str, str], twice: bool
) -> None:
    storefront, billing, notifications = (
        unit(name, databases[name], broker, destination, twice=twice) for name in UNITS
    )
    async with storefront.running(), billing.running(), notifications.running():
        transport = httpx.ASGITransport(app=storefront)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            cheap = await add_product(client, "CHEAP", Decimal("10.00"))
            dear = await add_product(client, "DEAR", Decimal("2000.00"))  # above charge_limit
            skus = [cheap, dear, cheap, cheap, dear, cheap]
            placed = [
                await place_order(client, f"c{i}@example.com", sku) for i, sku in enumerate(skus)
            ]
            statuses: list[str] = []

            async def settled() -> bool:
                statuses[:] = [
                    (await client.get(f"/orders/{order}")).json()["status"] for order in placed
                ]
                paid = statuses.count("paid")
                notified = await order_ids_in(databases["notifications"], "notifications",
                                              "notifications")  # fmt: skip
                return "pending" not in statuses and len(notified) >= paid

            assert await _eventually(settled), statuses
            for app in (storefront, billing, notifications):
                await app.drain_events()
            for app in (storefront, billing, notifications):
                assert await app.events.dead_letters() == []
    assert statuses == ["paid" if sku == cheap else "payment_failed" for sku in skus]
    assert sorted(await order_ids_in(databases["billing"], "billing", "payments")) == sorted(placed)
    paid = [o for o, status in zip(placed, statuses, strict=True) if status == "paid"]
    notified = await order_ids_in(databases["notifications"], "notifications", "notifications")
    assert sorted(notified) == sorted(paid)
    # Each unit's tables are in its own database only.
    assert not await _has_table(databases["billing"], "orders", "orders")


async def _eventually(condition: Callable[[], Awaitable[bool]], seconds: float = 60.0) -> bool:
    """Whether an async condition holds, checked every 50 ms for up to ``seconds``."""
    for _ in range(round(seconds * 20)):
        if await condition():
            return True
        await asyncio.sleep(0.05)
    return await condition()


async def _has_table(database_url: str, module: str, table: str) -> bool:
    try:
        await order_ids_in(database_url, module, table)
    except Exception:
        return False
    return True


async def test_a_unit_is_ready_only_while_its_broker_answers(database_url: str) -> None:
    shared = InMemoryBroker()
    broker = Broker(lambda: InMemoryTransport(shared, retry_seconds=0.01))
    billing = unit("billing", database_url, broker, "ready", twice=False)
    async with billing.running():
        transport = httpx.ASGITransport(app=billing)
        async with httpx.AsyncClient(transport=transport, base_url="http://billing") as client:
            ready = await client.get("/readyz")
            shared.set_reachable(False)
            down = await client.get("/readyz")
            shared.set_reachable(True)
            back = await client.get("/readyz")
    assert (ready.status_code, ready.json()["broker"]) == (200, "ok")
    assert (down.status_code, down.json()["failed"]) == (503, ["broker"])
    assert back.status_code == 200


@pytest.mark.parametrize(
    "make",
    [
        lambda: RabbitMQTransport(f"amqp://guest:guest@127.0.0.1:{CLOSED_PORT}/", timeout=2),
        lambda: NatsTransport(f"nats://127.0.0.1:{CLOSED_PORT}", timeout=2),
        lambda: RedisTransport(f"redis://127.0.0.1:{CLOSED_PORT}/0", timeout=2),
    ],
    ids=["rabbitmq", "nats", "redis"],
)
async def test_a_unit_whose_broker_cannot_be_reached_starts_and_is_not_ready(
    sqlite_url: str, make: Callable[[], Transport]
) -> None:
    billing = unit("billing", sqlite_url, Broker(make), "unreachable", twice=False)
    async with billing.running():  # it starts, and waits for its broker
        transport = httpx.ASGITransport(app=billing)
        async with httpx.AsyncClient(transport=transport, base_url="http://billing") as client:
            alive = await client.get("/healthz")
            ready = await client.get("/readyz")
    assert alive.status_code == 200
    assert (ready.status_code, ready.json()["failed"]) == (503, ["broker"])
