"""The shop's HTTP tests, unchanged, against the shop split in three units, in every topology.

The tests are the ones of ``tests/e2e/test_shop_http.py`` and
``tests/e2e/test_shop_hostile_input.py`` that use ``client``: here ``client`` talks to the
storefront, billing and notifications units through a gateway (see ``conftest.py``), the
units' events crossing the database they share (SQLite or PostgreSQL), RabbitMQ, NATS
JetStream or Redis Streams. The same tests, every topology; and a few of the split itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from tests.e2e.test_shop_hostile_input import (
    test_a_path_or_query_parameter_that_cannot_be_stored_is_refused_with_422,
    test_a_price_is_stored_and_shown_with_two_decimal_places,
    test_a_price_out_of_bounds_or_not_a_decimal_string_is_refused_with_422,
    test_a_price_up_to_the_maximum_is_stored_exactly,
    test_a_product_name_with_control_characters_is_refused_with_422,
    test_a_sku_with_a_nul_byte_is_refused_with_422,
    test_a_stock_out_of_bounds_is_refused_with_422,
    test_a_stock_up_to_the_maximum_is_stored_exactly,
    test_an_order_id_is_found_in_any_uuid_spelling,
    test_an_order_item_that_cannot_be_stored_is_refused_with_422,
)
from tests.e2e.test_shop_http import (
    add_product,
    new_customer,
    place_order,
    test_a_declined_payment_fails_the_order_returns_the_stock_and_sends_no_notification,
    test_adding_a_product_twice_is_refused_with_409_and_keeps_the_first,
    test_an_order_becomes_paid_and_notifies_the_customer,
    test_an_order_for_an_unknown_sku_is_refused_with_404_and_reserves_nothing,
    test_an_order_for_more_than_the_stock_is_refused_with_409_and_leaves_the_stock_unchanged,
    test_concurrent_orders_never_sell_more_than_the_stock,
    test_the_health_probes_say_the_shop_is_alive_and_its_database_ready,
    test_unknown_products_orders_and_payments_answer_404_problems,
)
from tests.e2e.units.conftest import SplitShop
from tests.e2e.units.launcher import MODULES, UNITS

T = TypeVar("T")
DEADLINE = 30.0  # seconds for an order to settle across three processes on a busy machine

__all__ = [
    "test_a_declined_payment_fails_the_order_returns_the_stock_and_sends_no_notification",
    "test_a_path_or_query_parameter_that_cannot_be_stored_is_refused_with_422",
    "test_a_price_is_stored_and_shown_with_two_decimal_places",
    "test_a_price_out_of_bounds_or_not_a_decimal_string_is_refused_with_422",
    "test_a_price_up_to_the_maximum_is_stored_exactly",
    "test_a_product_name_with_control_characters_is_refused_with_422",
    "test_a_sku_with_a_nul_byte_is_refused_with_422",
    "test_a_stock_out_of_bounds_is_refused_with_422",
    "test_a_stock_up_to_the_maximum_is_stored_exactly",
    "test_adding_a_product_twice_is_refused_with_409_and_keeps_the_first",
    "test_an_order_becomes_paid_and_notifies_the_customer",
    "test_an_order_for_an_unknown_sku_is_refused_with_404_and_reserves_nothing",
    "test_an_order_for_more_than_the_stock_is_refused_with_409_and_leaves_the_stock_unchanged",
    "test_an_order_id_is_found_in_any_uuid_spelling",
    "test_an_order_item_that_cannot_be_stored_is_refused_with_422",
    "test_concurrent_orders_never_sell_more_than_the_stock",
    "test_the_health_probes_say_the_shop_is_alive_and_its_database_ready",
    "test_unknown_products_orders_and_payments_answer_404_problems",
]


def test_every_order_settles_once_across_the_units(split_shop: SplitShop) -> None:
    with contextlib.ExitStack() as stack:
        clients = {unit: stack.enter_context(split_shop.units.client(unit)) for unit in UNITS}
        storefront = clients["storefront"]
        cheap = add_product(storefront, price="10.00", stock=10)
        dear = add_product(storefront, price="2000.00", stock=10)  # above billing's limit
        orders = []
        for sku in (cheap, dear, cheap, cheap, dear, cheap):
            email = new_customer()
            response = place_order(storefront, email, (sku, 1))
            assert response.status_code == 201, response.text
            orders.append((response.json()["id"], email, sku == cheap))

        for order_id, email, paid in orders:
            order = polled(
                functools.partial(order_of, storefront, order_id),
                lambda order: order["status"] != "pending",
                f"order {order_id} did not settle",
            )
            assert order["status"] == ("paid" if paid else "payment_failed"), order
            payment = clients["billing"].get(f"/billing/payments/{order_id}")
            assert payment.status_code == 200, payment.text
            assert payment.json()["status"] == ("captured" if paid else "failed")
            if paid:
                sent = polled(
                    functools.partial(notifications_of, clients["notifications"], email),
                    bool,
                    f"no notification reached {email}",
                )
                assert [n["order_id"] for n in sent] == [order_id]
        for _, email, paid in orders:  # every paid order was notified once, the others never
            assert len(notifications_of(clients["notifications"], email)) == paid

        # Each unit serves its own modules' routes, no other.
        assert storefront.get(f"/billing/payments/{orders[0][0]}").status_code == 404
        assert clients["billing"].get(f"/orders/{orders[0][0]}").status_code == 404
        assert clients["notifications"].get(f"/catalog/products/{cheap}").status_code == 404


def test_each_unit_s_database_holds_the_tables_of_the_modules_it_serves(
    split_shop: SplitShop,
) -> None:
    shared = split_shop.transport == "database"  # one database, every unit's tables
    every_module = set().union(*MODULES.values())
    for unit in UNITS:
        found = asyncio.run(modules_with_tables(split_shop.units, unit))
        assert found == (every_module if shared else MODULES[unit]), unit


async def modules_with_tables(units: Any, unit: str) -> set[str]:
    """The modules (not Dolmen's own) with tables in ``unit``'s database."""
    database = units.database(unit)
    if database.is_sqlite:
        names = await database.rows("SELECT name FROM sqlite_master WHERE type = 'table'")
        modules = {name.split("__")[0] for (name,) in names if "__" in name}
    else:
        schemas = await database.rows("SELECT DISTINCT table_schema FROM information_schema.tables")
        modules = {schema for (schema,) in schemas} - {"pg_catalog", "information_schema", "public"}
    return modules - {"dolmen"}


def polled(fetch: Callable[[], T], done: Callable[[T], bool], what: str) -> T:
    """``fetch()`` once ``done`` says so, polled every 50 ms for up to DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {DEADLINE:.0f}s; last seen: {value!r}")
        time.sleep(0.05)


def order_of(client: httpx.Client, order_id: str) -> dict[str, Any]:
    response = client.get(f"/orders/{order_id}")
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()
    return order


def notifications_of(client: httpx.Client, email: str) -> list[dict[str, Any]]:
    response = client.get("/notifications", params={"email": email})
    assert response.status_code == 200, response.text
    notifications: list[dict[str, Any]] = response.json()
    return notifications
