"""Broker lag per unit in the metrics: it rises while the receiving unit is down, then falls to 0.

The shop split in units (the storefront: catalog and orders; billing; notifications). Only
the storefront runs at first: the orders it takes wait for billing, on the broker (the
in-memory one, Redis, RabbitMQ) or in the shared outbox (the database transport), and the
storefront's ``/metrics`` says how many. Billing starts, takes them in, and the lag is 0.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest

from dolmen import App
from dolmen.observability import Observability
from dolmen.units import InMemoryBroker, InMemoryTransport, Units
from tests.dolmen_runner import EXAMPLES, dolmen
from tests.integration.units.conftest import Broker
from tests.integration.units.test_shop_over_broker import databases, unit
from tests.integration.units.test_shop_units import add_product, place_order
from tests.integration.units.test_shop_units import unit as shared_database_unit
from tests.lag_gauges import Series, lag_gauges

__all__ = ["databases"]  # the fixture, used here

ORDERS = 3
T = TypeVar("T")
BILLING_OUTBOX = ("dolmen_units_broker_pending", "storefront", "billing", "outbox")


def extension(app: App, kind: type[T]) -> T:
    return next(e for e in app.extensions if isinstance(e, kind))


async def lag_metrics(app: App) -> dict[Series, float]:
    """The unit's broker lag gauges after one sampler step, by name and labels."""
    units = extension(app, Units)
    assert units.lag_probe is not None
    units.lag_probe.cache_seconds = 0.0  # ask the broker at each step
    await extension(app, Observability).sample_outbox()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://unit") as client:
        return lag_gauges((await client.get("/metrics")).text)


def on_broker(found: dict[Series, float], unit: str, destination: str) -> float:
    return sum(
        value
        for (name, *labels), value in found.items()
        if name == "dolmen_units_broker_pending" and labels[:2] == [unit, destination]
    )


async def dashboard_lag(app: App) -> dict[str, Any]:
    """What the dashboard's state says of the unit's lag."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.get("/_dolmen/api/state")
    assert response.status_code == 200, response.text
    units: dict[str, Any] = response.json()["units"]
    return units


def events_stats(database_url: str) -> list[tuple[str, str, int]]:
    """``dolmen events stats --json`` of the shop on ``database_url``: handler, unit, pending."""
    env = {"PYTHONPATH": str(EXAMPLES), "DOLMEN__APP__DATABASE_URL": database_url}
    ran = dolmen("events", "stats", "--json", "--app", "shop.app:app", env=env)
    assert ran.returncode == 0, ran.stderr
    return [(s["handler"], s["unit"], s["pending"]) for s in json.loads(ran.stdout)]


async def until(condition: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> bool:
    for _ in range(round(seconds * 20)):
        if await condition():
            return True
        await asyncio.sleep(0.05)
    return await condition()


async def place_orders(storefront: App) -> None:
    transport = httpx.ASGITransport(app=storefront)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        sku = await add_product(client, "LAMP", Decimal("10.00"))
        for n in range(ORDERS):
            await place_order(client, f"c{n}@example.com", sku)


@pytest.mark.parametrize("broker", ["memory", "redis", "rabbitmq"], indirect=True)
async def test_the_lag_towards_a_stopped_unit_rises_then_falls_to_zero_once_it_runs(
    broker: Broker, destination: str, databases: dict[str, str]
) -> None:
    storefront = unit("storefront", databases["storefront"], broker, destination, twice=False)
    billing = unit("billing", databases["billing"], broker, destination, twice=False)
    async with storefront.running():
        await place_orders(storefront)
        waiting: dict[tuple[str, ...], float] = {}

        async def forwarded() -> bool:
            waiting.update(await lag_metrics(storefront))
            sent = waiting["dolmen_units_forward_pending", "storefront", "billing"] == 0
            # a message carries the events sent together: one to one per order
            return sent and 1 <= on_broker(waiting, "storefront", "billing") <= ORDERS

        assert await until(forwarded), waiting
        assert waiting["dolmen_units_broker_lag_known", "storefront", "billing"] == 1
        assert waiting["dolmen_units_forward_oldest_age_seconds", "storefront", "billing"] == 0
        async with billing.running():

            async def taken_in() -> bool:
                waiting.update(await lag_metrics(storefront))
                return on_broker(waiting, "storefront", "billing") == 0

            assert await until(taken_in), waiting
            billing_sees = await lag_metrics(billing)
    assert on_broker(billing_sees, "billing", "billing") == 0
    assert billing_sees["dolmen_units_broker_lag_known", "billing", "billing"] == 1


async def test_a_broker_that_does_not_answer_makes_the_lag_unknown_and_the_outbox_holds_it(
    sqlite_url: str,
) -> None:
    shared = InMemoryBroker()
    broker = Broker(lambda: InMemoryTransport(shared, retry_seconds=0.01))
    storefront = unit("storefront", sqlite_url, broker, f"t{uuid.uuid4().hex[:8]}", twice=False)
    async with storefront.running():
        shared.set_reachable(False)
        await place_orders(storefront)
        waiting: dict[tuple[str, ...], float] = {}

        async def held() -> bool:
            waiting.update(await lag_metrics(storefront))
            return waiting["dolmen_units_forward_pending", "storefront", "billing"] == ORDERS

        assert await until(held), waiting
        assert waiting["dolmen_units_broker_lag_known", "storefront", "billing"] == 0
        unknown = [v for k, v in waiting.items() if k[0] == "dolmen_units_broker_pending"]
        assert unknown
        assert all(value != value for value in unknown)  # NaN: unknown
        shown = await dashboard_lag(storefront)
        [billing] = [b for b in shown["backlogs"] if b["destination"] == "billing"]
        assert (billing["known"], billing["waiting"]) == (False, None)
        assert "in-memory broker is down" in billing["error"]
        [forwarding] = [f for f in shown["forwarding"] if f["destination"] == "billing"]
        assert forwarding["waiting"] == ORDERS
        # the oldest's age is reported (its value is tested with a clock in tests/unit)
        assert ("dolmen_units_forward_oldest_age_seconds", "storefront", "billing") in waiting
        shared.set_reachable(True)

        async def flowed() -> bool:
            waiting.update(await lag_metrics(storefront))
            sent = waiting["dolmen_units_forward_pending", "storefront", "billing"] == 0
            # a message carries the events sent together: one to one per order
            return sent and 1 <= on_broker(waiting, "storefront", "billing") <= ORDERS

        assert await until(flowed), waiting
        assert waiting["dolmen_units_broker_lag_known", "storefront", "billing"] == 1


async def test_with_the_database_transport_the_lag_is_what_waits_for_the_units_handlers(
    database_url: str,
) -> None:
    storefront = shared_database_unit(database_url, "storefront")
    billing = shared_database_unit(database_url, "billing")
    async with storefront.running():
        await place_orders(storefront)
        waiting = await lag_metrics(storefront)
        assert waiting[BILLING_OUTBOX] == ORDERS
        shown = await dashboard_lag(storefront)
        assert (shown["unit"], shown["transport"]) == ("storefront", "database")
        backlogs = {b["destination"]: b for b in shown["backlogs"]}
        assert backlogs["billing"]["waiting"] == ORDERS
        assert backlogs["billing"]["partitions"] == {"outbox": ORDERS}
        found = await asyncio.to_thread(events_stats, database_url)
        assert ("billing.charge_order", "billing", ORDERS) in found  # the unit that runs it
        assert waiting["dolmen_units_broker_lag_known", "storefront", "billing"] == 1
        assert not [k for k in waiting if k[0] == "dolmen_units_forward_pending"]  # no relay
        async with billing.running():

            async def taken() -> bool:
                waiting.update(await lag_metrics(storefront))
                return (
                    waiting["dolmen_units_broker_pending", "storefront", "billing", "outbox"] == 0
                )

            assert await until(taken), waiting
