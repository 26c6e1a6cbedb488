"""The catalog's reservations in one process, on SQLite and PostgreSQL, in virtual time.

An order's stock is reserved under the order's id; the order placed confirms it, and one
that nobody confirms is given back when it expires. The tests drive the catalog's clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
from shop.app import create_app
from shop.catalog.api import StockRequest
from shop.catalog.domain.product import Product
from shop.catalog.domain.reservation import Reservation
from shop.catalog.service import Catalog

from dolmen import App
from dolmen.events import Clock

EXPIRY = 900.0  # [catalog] reservation_seconds by default


class FakeClock:
    """The catalog's clock, moved by the test."""

    def __init__(self) -> None:
        self.time = 1_800_000_000.0

    def now(self) -> float:
        return self.time

    async def wait(self, event: object, seconds: float) -> bool:  # not used by the catalog
        raise NotImplementedError

    def advance(self, seconds: float) -> None:
        self.time += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def shop(database_url: str, clock: FakeClock) -> AsyncIterator[App]:
    app = create_app(
        {
            "app": {"database_url": database_url, "database_schema": "create"},
            "observability": {"configure_logging": False},
        }
    )
    with app.override(Clock, clock):
        async with app.running():
            yield app


@pytest.fixture
async def client(shop: App) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=shop)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        yield client


async def add_lamp(client: httpx.AsyncClient, price: str = "35.00", stock: int = 5) -> None:
    product = {"sku": "LAMP", "name": "Lamp", "price": price, "stock": stock}
    assert (await client.post("/catalog/products", json=product)).status_code == 201


async def stock(client: httpx.AsyncClient) -> int:
    return int((await client.get("/catalog/products/LAMP")).json()["stock"])


async def place(client: httpx.AsyncClient, quantity: int) -> httpx.Response:
    order = {"customer_email": "ada@example.com", "items": [{"sku": "LAMP", "quantity": quantity}]}
    return await client.post("/orders", json=order)


async def sweep(shop: App) -> int:
    """What the catalog's sweeper does every ``sweep_seconds``."""
    async with shop.unit_of_work("catalog") as work:
        return await (await work.get(Catalog)).release_expired()


async def reserve(shop: App, reservation_id: str, quantity: int) -> None:
    """A reservation whose order never comes (its unit died after reserving)."""
    async with shop.unit_of_work("catalog") as work:
        catalog = await work.get(Catalog)
        await catalog.reserve([StockRequest(sku="LAMP", quantity=quantity)], reservation_id)


async def test_a_sweep_locks_the_products_of_every_expired_reservation_at_once_in_order(
    shop: App, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    """Each reservation's products locked in turn (LAMP, then BULB for the next one) took
    locks out of the order every other writer takes them in: PostgreSQL found deadlocks
    between two processes' sweeps and the orders placed meanwhile."""
    await add_lamp(client)
    bulb = {"sku": "BULB", "name": "Bulb", "price": "3.00", "stock": 9}
    assert (await client.post("/catalog/products", json=bulb)).status_code == 201
    async with shop.unit_of_work("catalog") as work:
        catalog = await work.get(Catalog)
        await catalog.reserve([StockRequest(sku="LAMP", quantity=1)], "a")
        await catalog.reserve([StockRequest(sku="BULB", quantity=2)], "b")
    clock.advance(EXPIRY)

    locked: list[list[str]] = []
    async with shop.unit_of_work("catalog") as work:
        catalog = await work.get(Catalog)
        lock = catalog.products.get_for_update

        async def recorded(skus: Sequence[str]) -> dict[str, Product]:
            locked.append(list(skus))
            return await lock(skus)

        catalog.products.get_for_update = recorded  # type: ignore[method-assign]
        assert await catalog.release_expired() == 2
    assert locked == [["BULB", "LAMP"]]
    assert await stock(client) == 5
    assert (await client.get("/catalog/products/BULB")).json()["stock"] == 9


async def test_a_placed_order_keeps_its_stock_after_the_expiry(
    shop: App, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await add_lamp(client)
    placed = await place(client, 2)
    assert placed.status_code == 201
    await shop.drain_events()  # catalog confirms the reservation; billing charges the order

    clock.advance(EXPIRY + 1)
    assert await sweep(shop) == 0
    assert await stock(client) == 3
    assert (await client.get(f"/orders/{placed.json()['id']}")).json()["status"] == "paid"


async def test_an_abandoned_reservation_goes_back_once_when_it_expires(
    shop: App, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await add_lamp(client)
    await reserve(shop, "abandoned", 2)
    assert await stock(client) == 3

    clock.advance(EXPIRY - 1)
    assert await sweep(shop) == 0  # not expired yet
    assert await stock(client) == 3
    clock.advance(1)
    assert await sweep(shop) == 1
    assert await stock(client) == 5
    assert await sweep(shop) == 0  # given back once
    async with shop.unit_of_work("catalog") as work:
        await (await work.get(Catalog)).release("abandoned")  # nor twice by a late release
    assert await stock(client) == 5


async def test_a_failed_payment_gives_the_stock_back_once(
    shop: App, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await add_lamp(client, price="600.00")  # two cost more than billing's charge_limit
    placed = await place(client, 2)
    await shop.drain_events()
    order_id = placed.json()["id"]
    assert (await client.get(f"/orders/{order_id}")).json()["status"] == "payment_failed"
    assert await stock(client) == 5

    async with shop.unit_of_work("catalog") as work:
        await (await work.get(Catalog)).release(order_id)  # a redelivered release
    clock.advance(EXPIRY + 1)
    assert await sweep(shop) == 0
    assert await stock(client) == 5


async def test_in_one_process_an_order_that_fails_rolls_its_reservation_back(
    shop: App, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await add_lamp(client, price="99999999.00", stock=500)
    refused = await place(client, 101)  # reserved, then too large to be an order: 422
    assert refused.status_code == 422
    assert await stock(client) == 500  # rolled back with the order, no expiry needed
    clock.advance(EXPIRY + 1)
    assert await sweep(shop) == 0
    assert await stock(client) == 500


async def test_a_reservation_confirmed_after_it_expired_takes_its_stock_again(
    shop: App, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await add_lamp(client)
    await reserve(shop, "late", 2)
    clock.advance(EXPIRY)
    assert await sweep(shop) == 1
    assert await stock(client) == 5

    async with shop.unit_of_work("catalog") as work:
        await (await work.get(Catalog)).confirm("late")  # its OrderPlaced arrives late
    assert await stock(client) == 3
    clock.advance(EXPIRY)
    assert await sweep(shop) == 0
    assert await stock(client) == 3


async def test_reserving_again_under_the_same_id_takes_the_stock_once(
    shop: App, client: httpx.AsyncClient
) -> None:
    await add_lamp(client)
    await reserve(shop, "retried", 2)
    await reserve(shop, "retried", 2)  # a call repeated after a lost answer
    assert await stock(client) == 3


# PostgreSQL only: SQLite runs one writing transaction at a time, the two cannot interleave.
@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_release_racing_the_confirmation_still_gives_the_stock_back(
    shop: App, client: httpx.AsyncClient
) -> None:
    await add_lamp(client)
    await reserve(shop, "raced", 2)
    async with shop.unit_of_work("catalog") as work:
        catalog = await work.get(Catalog)
        read = catalog.reservations.get

        async def read_then_confirmed_elsewhere(reservation_id: str) -> Reservation | None:
            seen = await read(reservation_id)  # held, as this release reads it
            async with shop.unit_of_work("catalog") as other:  # the order placed, meanwhile
                await (await other.get(Catalog)).confirm(reservation_id)
            return seen

        catalog.reservations.get = read_then_confirmed_elsewhere  # type: ignore[method-assign]
        await catalog.release("raced")  # its payment failed: the stock must come back
    assert await stock(client) == 5
