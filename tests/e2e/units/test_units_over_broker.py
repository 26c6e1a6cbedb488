"""The shop's three units as ``dolmen run --unit`` processes, each on its own SQLite file,
their events crossing RabbitMQ, NATS JetStream or Redis Streams.

Orders are placed over HTTP on the storefront and followed on each unit until every one is
settled: paid or payment_failed, charged once, notified once when paid.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from tests.e2e.conftest import run_shop
from tests.e2e.test_shop_http import add_product, new_customer, place_order
from tests.e2e.units.broker_proxy import proxied
from tests.e2e.units.test_units_processes import UNITS, notifications_of, order_of

T = TypeVar("T")
OUTAGE_SECONDS = 5.0
"""How long the broker stays out of reach in the failure tests."""

TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"
BROKERS = {
    "rabbitmq": "rabbitmq_url",
    "nats": "nats_url",
    "redis": "redis_url",
}


@pytest.fixture(params=sorted(BROKERS))
def broker_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The units' settings for one broker, on destinations of this test's own."""
    kind: str = request.param
    url = str(request.getfixturevalue(BROKERS[kind]))
    return {
        "DOLMEN__UNITS__TRANSPORT": kind,
        "DOLMEN__UNITS__BROKER_URL": url,
        "DOLMEN__UNITS__BROKER_NAMESPACE": f"e{uuid.uuid4().hex[:10]}",
    }


@contextlib.contextmanager
def three_units(
    tmp_path: Path, env: dict[str, str], *, outage: bool = False
) -> Iterator[dict[str, httpx.Client]]:
    """The three units, each in its folder with its own SQLite file; a client of each."""
    with contextlib.ExitStack() as stack:
        clients = {}
        for unit in UNITS:
            folder = tmp_path / unit
            folder.mkdir()
            server = stack.enter_context(
                run_shop(folder, None, env, ["--unit", unit], tracebacks_expected=outage)
            )
            clients[unit] = stack.enter_context(httpx.Client(base_url=server.url, timeout=10.0))
        yield clients


def place_orders(storefront: httpx.Client, count: int) -> tuple[list[tuple[str, str, str]], str]:
    """``count`` orders, every third one above billing's limit; and the cheap product's sku."""
    cheap = add_product(storefront, price="10.00", stock=100)
    dear = add_product(storefront, price="2000.00", stock=100)
    orders = []
    for n in range(count):
        sku = dear if n % 3 == 2 else cheap
        email = new_customer()
        response = place_order(storefront, email, (sku, 1))
        assert response.status_code == 201, response.text
        orders.append((response.json()["id"], email, sku))
    return orders, cheap


def assert_settled_once(
    clients: dict[str, httpx.Client],
    orders: list[tuple[str, str, str]],
    cheap: str,
    deadline: float = 30.0,
) -> None:
    """Each order paid or payment_failed, charged once, and notified once when paid."""
    poll = functools.partial(polled, deadline=deadline)
    for order_id, email, sku in orders:
        order = poll(
            functools.partial(order_of, clients["storefront"], order_id),
            lambda order: order["status"] != "pending",
            f"order {order_id} did not settle",
        )
        expected = "paid" if sku == cheap else "payment_failed"
        assert order["status"] == expected, order
        payment = clients["billing"].get(f"/billing/payments/{order_id}")
        assert payment.status_code == 200, payment.text
        assert payment.json()["status"] == ("captured" if sku == cheap else "failed")
        if expected == "paid":
            sent = poll(
                functools.partial(notifications_of, clients["notifications"], email),
                bool,
                f"no notification reached {email}",
            )
            assert [n["order_id"] for n in sent] == [order_id]
    for _, email, sku in orders:  # every paid order notified once, the others never
        assert len(notifications_of(clients["notifications"], email)) == (sku == cheap)


def test_three_unit_processes_with_their_own_databases_settle_every_order_over_a_broker(
    tmp_path: Path, broker_env: dict[str, str]
) -> None:
    with three_units(tmp_path, broker_env) as clients:
        orders, cheap = place_orders(clients["storefront"], 6)
        assert_settled_once(clients, orders, cheap)
    # Each unit's database holds its own modules' tables, no other.
    modules = {"storefront": {"catalog", "orders"}, "billing": {"billing"},
               "notifications": {"notifications"}}  # fmt: skip
    for unit in UNITS:
        with contextlib.closing(sqlite3.connect(tmp_path / unit / "shop.db")) as database:
            names = [name for (name,) in database.execute(TABLES)]
        assert {n.split("__")[0] for n in names if "__" in n} - {"dolmen"} == modules[unit]


def test_every_order_settles_once_when_the_broker_is_cut_off_while_orders_are_placed(
    tmp_path: Path, broker_env: dict[str, str]
) -> None:
    with proxied(broker_env["DOLMEN__UNITS__BROKER_URL"]) as proxy:
        env = {**broker_env, "DOLMEN__UNITS__BROKER_URL": proxy.url_for(
            broker_env["DOLMEN__UNITS__BROKER_URL"])}  # fmt: skip
        with three_units(tmp_path, env, outage=True) as clients:
            before, cheap = place_orders(clients["storefront"], 3)
            proxy.cut()  # every unit loses the broker; the storefront still takes orders
            cut_at = time.monotonic()
            during, _ = place_orders(clients["storefront"], 6)
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - cut_at)))
            proxy.open()
            # The forwarding deliveries waited in each outbox and flow again, with backoff.
            assert_settled_once(clients, before, cheap, deadline=120.0)
            assert_settled_once(clients, during, during[0][2], deadline=120.0)


def polled(fetch: Callable[[], T], done: Callable[[T], bool], what: str, deadline: float) -> T:
    """``fetch()`` once ``done`` says so, polled every 50 ms for up to ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what} within {deadline:.0f}s; last seen: {value!r}")
        time.sleep(0.05)
