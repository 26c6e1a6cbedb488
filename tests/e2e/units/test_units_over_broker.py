"""The shop's three units over a broker lose no order and repeat no effect when the broker is
out of reach for 20 s, or when any unit is killed with SIGKILL mid-flow.

Per broker (RabbitMQ, NATS JetStream, Redis Streams; each unit on a database of its own:
PostgreSQL databases for NATS and Redis, whose HTTP suite runs on SQLite files, and both for
RabbitMQ), one scenario while orders keep coming on the storefront:
the units' connections to the broker are cut for 20 s (a TCP proxy between them and the
shared broker, :mod:`broker_proxy`) and restored, billing killed with SIGKILL meanwhile and
started again while the broker is still out of reach; then each unit in turn, caught at work,
is killed with SIGKILL and started again. Then every order the storefront holds must end
``paid`` or ``payment_failed`` as its price says, with exactly one payment, every paid order
exactly one notification and every failed one none, and no event left waiting or dead.

The scenarios run side by side (each with its own proxy, broker namespace and databases), so
their outages overlap instead of adding up; each test then checks its own scenario.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import httpx
import pytest

from tests import waiting
from tests.e2e.test_shop_http import add_product, new_customer
from tests.e2e.units.broker_proxy import proxied
from tests.e2e.units.launcher import (
    UNITS,
    ShopUnits,
    broker_url,
    own_databases,
    shop_units,
    transport_env,
)

OUTAGE_SECONDS = 20.0
"""How long the broker stays out of reach."""
DEADLINE = 120.0
"""Seconds for a step to happen: events held back by the outage go with backoff (up to 30 s
apart), a killed unit's partitions wait for its broker leases to run out (10 s)."""
ENV = {
    # A killed unit's claimed deliveries go back to its outbox when their lease runs out.
    "DOLMEN__EVENTS__LEASE_SECONDS": "2",
}
DELIVERIES = ("dolmen", "deliveries")
EFFECTS = {"billing": ("billing", "payments"), "notifications": ("notifications", "notifications")}
"""The table of each unit's effects (but the storefront's: its settled orders)."""
SCENARIOS = [
    pytest.param(("rabbitmq", "sqlite"), id="rabbitmq-sqlite"),
    pytest.param(("nats", "postgres"), id="nats-postgres", marks=pytest.mark.postgres),
    pytest.param(("redis", "postgres"), id="redis-postgres", marks=pytest.mark.postgres),
    pytest.param(("rabbitmq", "postgres"), id="rabbitmq-postgres", marks=pytest.mark.postgres),
]


class Orders(threading.Thread):
    """Places an order on the storefront every 0.1 s (every third one above billing's limit)
    until stopped, wherever the storefront listens now; counts the answers lost to a kill."""

    def __init__(self, units: ShopUnits, cheap: str, dear: str) -> None:
        super().__init__(daemon=True)
        self.units, self.cheap, self.dear = units, cheap, dear
        self.placed: list[str] = []
        self.lost = 0
        self.refused: list[str] = []
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(0.1):  # a steady pace, not a wait for an outcome
            sku = self.dear if len(self.placed) % 3 == 2 else self.cheap
            order = {"customer_email": new_customer(), "items": [{"sku": sku, "quantity": 1}]}
            try:
                response = httpx.post(f"{self.units.url('storefront')}/orders", json=order,
                                      timeout=10.0)  # fmt: skip
            except httpx.TransportError:
                self.lost += 1  # the storefront killed (or starting): the order may be stored
                continue
            if response.status_code == 201:
                self.placed.append(response.json()["id"])
            else:
                self.refused.append(response.text)

    def stop(self) -> None:
        self._stopping.set()
        self.join(30)


class Flow:
    """What the units did so far, read from their databases."""

    def __init__(self, units: ShopUnits) -> None:
        self.units = units

    def count(self, unit: str, table: tuple[str, str], where: str = "") -> int:
        """How many rows ``unit``'s table (module, name) holds, ``where`` given."""
        database = self.units.database(unit)
        sql = f"SELECT COUNT(*) FROM {database.table(*table)} {where}"
        [(found,)] = asyncio.run(database.rows(sql))
        return int(found)

    def effects(self, unit: str) -> int:
        """How many orders ``unit`` did its part for (settled, charged, notified)."""
        if unit == "storefront":
            return self.count(unit, ("orders", "orders"), "WHERE status <> 'pending'")
        return self.count(unit, EFFECTS[unit])

    def did_more(self, unit: str, than: int) -> bool:
        """Whether ``unit`` did its part for more than ``than`` orders."""
        return self.effects(unit) > than

    def waiting(self, unit: str) -> int:
        """Deliveries still to run in ``unit``'s outbox."""
        return self.count(unit, DELIVERIES, "WHERE status IN ('pending', 'running')")

    def dead(self, unit: str) -> int:
        """Dead letters in ``unit``'s outbox."""
        return self.count(unit, DELIVERIES, "WHERE status = 'dead'")

    def orders(self, cheap: str) -> dict[str, tuple[str, bool]]:
        """Each order the storefront holds: its status, and whether it should be paid."""
        database = self.units.database("storefront")
        t = database.table
        sql = (f"SELECT o.id, o.status, i.sku FROM {t('orders', 'orders')} o "
               f"JOIN {t('orders', 'order_lines')} i ON i.order_id = o.id")  # fmt: skip
        return {
            str(o): (status, sku == cheap) for o, status, sku in asyncio.run(database.rows(sql))
        }

    def pairs(self, unit: str, table: str, columns: str) -> list[tuple[str, str]]:
        """Two columns of one of ``unit``'s tables (its module's: billing, notifications)."""
        database = self.units.database(unit)
        rows = asyncio.run(database.rows(f"SELECT {columns} FROM {database.table(unit, table)}"))
        return [(str(first), str(second)) for first, second in rows]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` every 50 ms for up to DEADLINE seconds."""
    waiting.wait_until(condition, what, DEADLINE)


@dataclass
class Outcome:
    """What one scenario's units did, read once every order settled."""

    expected: dict[str, tuple[str, bool]]
    """Each order the storefront held when the orders stopped: status, whether to be paid."""
    settled: dict[str, tuple[str, bool]]
    """The same orders once everything settled."""
    placed: list[str]
    refused: list[str]
    during_outage: int
    payments: list[tuple[str, str]]
    notified: Counter[str]
    dead: list[int]
    started_without_broker: int
    """How often billing logged that it starts without its broker."""
    kills: dict[str, int]
    """Each unit's effects when it was killed."""
    effects: dict[str, int]
    """Each unit's effects at the end."""


def run_scenario(folder: Path, scenario: tuple[str, str]) -> Outcome:
    """Orders through ``scenario``'s broker cut for OUTAGE_SECONDS, then a kill of each unit;
    what the units did once every order settled."""
    transport, database = scenario
    url = broker_url(transport)
    with (
        proxied(url) as proxy,
        own_databases(folder, database) as databases,
        shop_units(
            folder,
            databases,
            {**transport_env(transport, proxy.url_for(url)), **ENV},
            tracebacks_expected=True,
        ) as units,
    ):
        flow = Flow(units)
        with units.client("storefront") as storefront:
            cheap = add_product(storefront, price="10.00", stock=1_000_000)
            dear = add_product(storefront, price="2000.00", stock=1_000_000)
        orders = Orders(units, cheap, dear)
        orders.start()
        try:
            wait_until(lambda: flow.effects("notifications") >= 3, "no order went through")

            proxy.cut()  # every unit loses the broker; the storefront still takes orders
            cut_at, placed = time.monotonic(), len(orders.placed)
            units.kill_and_restart("billing")  # it starts without its broker, and waits for it
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - cut_at)))  # the outage
            during_outage = len(orders.placed) - placed
            proxy.open()

            kills = {}
            for unit in UNITS:  # each caught at work: it did more since the last step
                done = flow.effects(unit)
                wait_until(functools.partial(flow.did_more, unit, done), f"{unit} did nothing more")
                kills[unit] = flow.effects(unit)
                units.kill_and_restart(unit)
            placed = len(orders.placed)
            wait_until(lambda: len(orders.placed) >= placed + 5, "no order after the kills")
        finally:
            orders.stop()

        expected = flow.orders(cheap)
        paid = sum(should_pay for _, should_pay in expected.values())
        wait_until(
            lambda: (
                flow.effects("billing") >= len(expected)
                and flow.effects("notifications") >= paid
                and flow.effects("storefront") >= len(expected)
                and not any(flow.waiting(unit) for unit in UNITS)
            ),
            "the orders did not all settle",
        )
        print(f"{transport}/{database}: {len(expected)} orders ({paid} paid), "
              f"{during_outage} placed during the outage, {orders.lost} answers lost to the "
              f"storefront's kill; effects when each unit was killed: {kills}")  # fmt: skip
        return Outcome(
            expected=expected,
            settled=flow.orders(cheap),
            placed=orders.placed,
            refused=orders.refused,
            during_outage=during_outage,
            payments=flow.pairs("billing", "payments", "order_id, status"),
            notified=Counter(
                o for o, _ in flow.pairs("notifications", "notifications", "order_id, kind")
            ),
            dead=[flow.dead(unit) for unit in UNITS],
            started_without_broker=units.shops["billing"].count_in_output(
                "starts without its broker"
            ),
            kills=kills,
            effects={unit: flow.effects(unit) for unit in UNITS},
        )


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[tuple[str, str], Future[Outcome]]]:
    """The selected scenarios, run side by side: their outages overlap instead of following
    one another (each has its own proxy, broker namespace and databases). Each test reads its
    scenario's outcome, or gets the exception (a failure, a skip) that ended it."""
    selected = [
        cast("tuple[str, str]", item.callspec.params["scenario"])
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.path == request.path
    ]
    with ThreadPoolExecutor(max(1, len(selected))) as pool:
        yield {
            scenario: pool.submit(
                run_scenario, tmp_path_factory.mktemp("-".join(scenario)), scenario
            )
            for scenario in selected
        }


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_order_settles_once_through_a_broker_outage_and_a_kill_of_each_unit(
    outcomes: dict[tuple[str, str], Future[Outcome]], scenario: tuple[str, str]
) -> None:
    outcome = outcomes[scenario].result()
    expected = outcome.expected
    assert outcome.settled.keys() == expected.keys()
    assert outcome.refused == []
    assert outcome.during_outage > 0
    assert set(outcome.placed) <= expected.keys()  # every order acknowledged is stored
    assert {o: status for o, (status, _) in outcome.settled.items()} == {
        o: "paid" if should_pay else "payment_failed" for o, (_, should_pay) in expected.items()
    }
    payments = outcome.payments
    assert Counter(o for o, _ in payments) == Counter(list(expected))  # one payment each
    assert dict(payments) == {
        o: "captured" if should_pay else "failed" for o, (_, should_pay) in expected.items()
    }
    assert outcome.notified == Counter(o for o, (_, should_pay) in expected.items() if should_pay)
    assert outcome.dead == [0, 0, 0]
    # Once: when it was started during the outage (dolmen run's check does not connect).
    assert outcome.started_without_broker == 1
    # Each unit was killed mid-flow: it had more to do, and did it once started again.
    assert {unit: outcome.kills[unit] < outcome.effects[unit] for unit in UNITS} == dict.fromkeys(
        UNITS, True
    )
