"""A deployment unit killed with SIGKILL mid-flow, then started again: nothing lost, nothing twice.

The shop runs as three ``dolmen run --unit`` processes on one database (a SQLite file, or
PostgreSQL). Orders are placed on the storefront; while billing charges them (slowly: a
200 ms gateway, two handlers at a time), one unit is killed after its first effect and
started again on the same database. Then every order must end ``paid`` or
``payment_failed`` as its price says, with exactly one payment, every paid order exactly one
notification and every failed one none, and nothing may be left waiting in the outbox or dead.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import waiting
from tests.e2e.crash_shop import ShopDatabase
from tests.e2e.test_shop_http import add_product, new_customer, place_order
from tests.e2e.units.launcher import UNITS, ShopUnits, shop_units

ORDERS = 24
DEADLINE = 60.0  # seconds for everything to settle after the restart, on a busy machine
ENV = {
    "DOLMEN__BILLING__CHARGE_LIMIT": "100.00",
    "DOLMEN__BILLING__GATEWAY_LATENCY_MS": "200",
    "DOLMEN__EVENTS__CONCURRENCY": "2",
    # A killed unit's claimed deliveries go back to the outbox when their lease runs out.
    "DOLMEN__EVENTS__LEASE_SECONDS": "2",
}


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` every 50 ms for up to DEADLINE seconds."""
    waiting.wait_until(condition, what, DEADLINE)


def count(database: ShopDatabase, sql: str) -> int:
    [(found,)] = asyncio.run(database.rows(sql))
    return int(found)


@pytest.fixture
def units(database_url: str, tmp_path: Path) -> Iterator[ShopUnits]:
    with shop_units(tmp_path, database_url, ENV) as units:
        yield units


@pytest.mark.parametrize("killed", UNITS)
def test_a_unit_killed_mid_flow_loses_no_order_and_repeats_no_effect(
    units: ShopUnits, database_url: str, killed: str
) -> None:
    database = ShopDatabase(database_url)
    table = database.table
    with units.client("storefront") as client:
        cheap = add_product(client, price="10.00", stock=ORDERS)
        dear = add_product(client, price="500.00", stock=ORDERS)  # above the charge limit
        placed: dict[str, str] = {}
        for number in range(ORDERS):
            sku = dear if number % 4 == 0 else cheap
            response = place_order(client, new_customer(), (sku, 1))
            assert response.status_code == 201, response.text
            placed[response.json()["id"]] = sku

    first_effect = {
        "storefront": f"SELECT COUNT(*) FROM {table('orders', 'orders')} WHERE status <> 'pending'",
        "billing": f"SELECT COUNT(*) FROM {table('billing', 'payments')}",
        "notifications": f"SELECT COUNT(*) FROM {table('notifications', 'notifications')}",
    }[killed]
    wait_until(lambda: count(database, first_effect) > 0, f"{killed} did nothing")
    # Billing takes 2.4 s for all the orders: the kill comes while events still flow (-s
    # shows how far billing was). Were it done, the checks below would still have to hold.
    charged = count(database, f"SELECT COUNT(*) FROM {table('billing', 'payments')}")
    print(f"killing {killed} with {charged} of {ORDERS} orders charged")
    units.kill_and_restart(killed)

    deliveries = f"SELECT COUNT(*) FROM {table('dolmen', 'deliveries')}"
    waiting = f"{deliveries} WHERE status IN ('pending', 'running')"
    wait_until(lambda: count(database, waiting) == 0, "the outbox did not empty")
    assert count(database, f"{deliveries} WHERE status = 'dead'") == 0
    statuses = dict(
        asyncio.run(database.rows(f"SELECT id, status FROM {table('orders', 'orders')}"))
    )
    expected = {o: "paid" if sku == cheap else "payment_failed" for o, sku in placed.items()}
    assert {str(o): s for o, s in statuses.items()} == expected
    payments = asyncio.run(
        database.rows(f"SELECT order_id, status FROM {table('billing', 'payments')}")
    )
    assert Counter(str(o) for o, _ in payments) == Counter(list(placed))  # one payment each
    assert {str(o): s for o, s in payments} == {
        o: "captured" if s == "paid" else "failed" for o, s in expected.items()
    }
    notified = asyncio.run(
        database.rows(f"SELECT order_id FROM {table('notifications', 'notifications')}")
    )
    assert Counter(str(o) for (o,) in notified) == Counter(
        o for o, s in expected.items() if s == "paid"
    )
