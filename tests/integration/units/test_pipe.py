"""From one unit's outbox to another's through each transport: once each, in order per subject."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dolmen.events import (
    OUTBOX_TABLES,
    Claimed,
    Dispatcher,
    Envelope,
    InMemoryDeliveryStore,
    Retry,
    SqlDeliveryStore,
)
from dolmen.events._envelope import new_event_id
from dolmen.persistence import Database
from dolmen.units import Intake, Relay
from tests.conftest import fresh_postgres_database
from tests.integration.units.conftest import Broker
from tests.waiting import within

HANDLER = "billing.charge_order"


@dataclass(frozen=True)
class Handler:
    name: str = HANDLER
    retry: Retry = field(default_factory=Retry)
    ordered: bool = True


def placed_order(n: int, subject: str) -> Envelope:
    data = json.dumps({"n": n})
    return Envelope(new_event_id(), "orders.OrderPlaced", 1, "/shop/orders", 1.0, data, subject)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def billing_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The receiving unit's database: a SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'billing.db'}"
    else:
        with fresh_postgres_database() as url:
            yield url


@pytest.fixture
async def billing_outbox(billing_url: str) -> AsyncIterator[SqlDeliveryStore]:
    """The receiving unit's outbox, in its own database."""
    database = Database(billing_url, [OUTBOX_TABLES])
    await database.open(create_tables=True)
    yield SqlDeliveryStore(database)
    await database.close()


async def test_events_reach_the_other_units_handler_once_each_in_order_per_subject(
    broker: Broker, destination: str, billing_outbox: SqlDeliveryStore
) -> None:
    orders_outbox = InMemoryDeliveryStore()
    relay = Relay(await broker.transport(), [destination])
    forwarding = relay.dispatcher(orders_outbox)
    ran: list[Envelope] = []

    async def charge_order(claimed: Claimed) -> bool:
        ran.append(claimed.envelope)
        return False

    billing = Dispatcher(billing_outbox, charge_order, {HANDLER: Retry()}, ordered=[HANDLER])
    intake = Intake(
        await broker.transport(), billing_outbox, destination,
        {"orders.OrderPlaced": [Handler()]}, on_received=billing.hint,
    )  # fmt: skip
    placed = [placed_order(n, subject=f"order-{n % 4}") for n in range(40)]
    for envelope in placed:  # one commit each, as publishers would
        await orders_outbox.append(None, [envelope], relay.deliveries(envelope, [destination]))
    forwarding.start()
    billing.start()
    await intake.start()
    try:
        assert await within(30, lambda: len(ran) >= len(placed))
        await forwarding.drain()
    finally:
        await intake.stop()
        await forwarding.stop()
        await billing.stop()

    assert sorted(e.id for e in ran) == sorted(e.id for e in placed)  # each once
    for subject in {e.subject for e in placed}:
        assert [e.id for e in ran if e.subject == subject] == [
            e.id for e in placed if e.subject == subject
        ]
