"""The receiving unit takes each event into its outbox once, however often the broker brings it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest

from dolmen.events import (
    OUTBOX_TABLES,
    Envelope,
    InMemoryDeliveryStore,
    NewDelivery,
    Retry,
    SqlDeliveryStore,
)
from dolmen.events._envelope import new_event_id
from dolmen.persistence import Database
from dolmen.units import InMemoryBroker, InMemoryTransport, Intake
from tests.waiting import within

NOW = 1_700_000_000.0


@dataclass(frozen=True)
class Handler:
    name: str
    retry: Retry = field(default_factory=lambda: Retry(attempts=4))
    ordered: bool = False


HANDLERS = {
    "orders.OrderPlaced": [Handler("billing.charge_order", ordered=True), Handler("billing.audit")]
}


class Clock:
    def now(self) -> float:
        return NOW

    async def wait(self, event: object, seconds: float) -> bool:  # pragma: no cover
        raise AssertionError("the intake never waits")


def envelope(label: str, subject: str | None = "order-1") -> Envelope:
    data = json.dumps({"label": label})
    return Envelope(new_event_id(), "orders.OrderPlaced", 1, "/shop/orders", NOW, data, subject)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlDeliveryStore]:
    """The receiving unit's outbox, on SQLite and on PostgreSQL."""
    database = Database(database_url, [OUTBOX_TABLES])
    await database.open(create_tables=True)
    yield SqlDeliveryStore(database)
    await database.close()


def intake_for(
    store: SqlDeliveryStore | InMemoryDeliveryStore, transport: InMemoryTransport
) -> Intake:
    return Intake(transport, store, "billing", HANDLERS, clock=Clock())


async def handlers_of(store: SqlDeliveryStore) -> list[tuple[str, str]]:
    claimed = await store.claim("test", {"billing.charge_order", "billing.audit"}, 100, NOW, 30)
    return sorted((c.handler, c.envelope.id) for c in claimed)


async def test_a_batch_taken_in_twice_adds_its_deliveries_once(store: SqlDeliveryStore) -> None:
    intake = intake_for(store, InMemoryTransport())
    placed = [envelope("o1"), envelope("o2", subject=None)]

    await intake.take(placed)
    await intake.take(placed)  # the broker brought it again (its ack was lost)

    assert await handlers_of(store) == sorted(
        (handler, e.id) for e in placed for handler in ("billing.audit", "billing.charge_order")
    )


async def test_an_event_delivered_again_after_its_handlers_ran_adds_nothing(
    store: SqlDeliveryStore,
) -> None:
    intake = intake_for(store, InMemoryTransport())
    placed = envelope("o1")
    await intake.take([placed])
    claimed = await store.claim("test", {"billing.charge_order", "billing.audit"}, 100, NOW, 30)
    await store.complete([c.id for c in claimed], "test", NOW)  # done: the rows are deleted

    await intake.take([placed, envelope("o2")])

    assert [h for h, _ in await handlers_of(store)] == ["billing.audit", "billing.charge_order"]


async def test_the_received_deliveries_carry_the_event_and_its_order(
    store: SqlDeliveryStore,
) -> None:
    intake = intake_for(store, InMemoryTransport())
    first, second = envelope("o1"), envelope("o2")

    await intake.take([first, second])

    claimed = await store.claim("test", {"billing.charge_order"}, 100, NOW, 30)
    assert [c.envelope for c in claimed] == [first]  # the second waits for the first: ordered
    [audit, _second] = await store.claim("test", {"billing.audit"}, 100, NOW, 30)
    assert (audit.envelope, audit.max_attempts) == (first, 4)


async def test_forgotten_events_are_new_again(store: SqlDeliveryStore) -> None:
    placed = envelope("o1")
    deliveries = [NewDelivery(placed.id, "billing.audit", placed.type, 3)]
    assert await store.receive([placed], deliveries, NOW) == 1
    assert await store.forget_received(NOW) == 0  # received at NOW: not before
    assert await store.forget_received(NOW + 1) == 1

    assert await store.receive([placed], deliveries, NOW + 2) == 1


async def test_the_broker_acknowledges_only_what_reached_the_outbox(
    store: SqlDeliveryStore,
) -> None:
    broker = InMemoryBroker()
    transport = InMemoryTransport(broker, retry_seconds=0.01)
    intake = intake_for(FailingOnce(store), transport)  # type: ignore[arg-type]
    woken: list[bool] = []
    intake.on_received = lambda: woken.append(True)
    await intake.start()
    placed = envelope("o1")

    await transport.send("billing", [placed])
    await transport.send("billing", [placed])  # sent twice (the relay's ack was lost)

    assert await within(30, lambda: broker.queued("billing") == [])
    await intake.stop()
    assert await handlers_of(store) == [
        ("billing.audit", placed.id),
        ("billing.charge_order", placed.id),
    ]
    assert woken == [True]


class FailingOnce:
    """The outbox, whose first write fails (the database restarting, say)."""

    def __init__(self, store: SqlDeliveryStore) -> None:
        self.store, self.failed = store, False

    async def receive(
        self, envelopes: Sequence[Envelope], deliveries: Sequence[NewDelivery], now: float
    ) -> int:
        if not self.failed:
            self.failed = True
            raise ConnectionError("the database is restarting")
        return await self.store.receive(envelopes, deliveries, now)

    async def forget_received(self, before: float) -> int:
        return await self.store.forget_received(before)
