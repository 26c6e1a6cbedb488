"""Forwarding deliveries send events to other units, with the retries of any delivery."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import pytest

from dolmen.events import (
    Claimed,
    Dispatcher,
    Envelope,
    EventSettings,
    InMemoryDeliveryStore,
    PoisonEvent,
    Retry,
)
from dolmen.events._envelope import new_event_id
from dolmen.units import InMemoryBroker, InMemoryTransport, Relay, TransportError, forward_handler

START = 1_700_000_000.0
BILLING = forward_handler("billing")


class Clock:
    """A clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.time = START

    def now(self) -> float:
        return self.time

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        return False


class Refusing(InMemoryTransport):
    """The in-memory transport, refusing to send the events the test names (once each)."""

    def __init__(self, broker: InMemoryBroker) -> None:
        super().__init__(broker)
        self.refuse: set[str] = set()
        self.sends: list[list[str]] = []

    async def send(self, destination: str, envelopes: Sequence[Envelope]) -> None:
        self.sends.append([e.id for e in envelopes])
        refused = self.refuse & {e.id for e in envelopes}
        if refused:
            self.refuse -= refused
            raise TransportError("connection refused")
        await super().send(destination, envelopes)


def envelope(label: str, subject: str | None = None) -> Envelope:
    data = json.dumps({"label": label})
    return Envelope(new_event_id(), "orders.OrderPlaced", 1, "/shop/orders", START, data, subject)


async def publish(store: InMemoryDeliveryStore, relay: Relay, *envelopes: Envelope) -> None:
    for e in envelopes:
        await store.append(None, [e], relay.deliveries(e, ["billing"]))


def dispatcher_for(
    relay: Relay, store: InMemoryDeliveryStore, clock: Clock, *, batches: bool = False
) -> Dispatcher:
    return Dispatcher(
        store,
        relay.run,
        relay.handlers,
        EventSettings(),
        clock=clock,
        owner="orders-unit",
        ordered=relay.handlers,
        run_batch=relay.run_batch if batches else None,
        batchable=relay.handlers if batches else (),
    )


async def step(dispatcher: Dispatcher) -> None:
    await dispatcher.tick()
    await dispatcher.idle()


async def test_a_forwarding_delivery_whose_send_failed_is_retried_and_sent_once() -> None:
    broker, store, clock = InMemoryBroker(), InMemoryDeliveryStore(), Clock()
    relay = Relay(InMemoryTransport(broker), ["billing"], retry=Retry(attempts=5, base=1, cap=1))
    dispatcher = dispatcher_for(relay, store, clock)
    placed = envelope("o1", subject="order-1")
    await publish(store, relay, placed)

    broker.set_reachable(False)  # the broker is down
    await step(dispatcher)
    assert broker.queued("billing") == []
    [stats] = await store.stats(clock.now())
    assert (stats.handler, stats.pending, stats.retrying, stats.dead) == (BILLING, 1, 1, 0)

    broker.set_reachable(True)  # back: the retry goes once it is due
    clock.time += 1.001
    await step(dispatcher)

    assert broker.queued("billing") == [placed]
    assert await store.unsettled() == 0
    await step(dispatcher)
    assert broker.queued("billing") == [placed]  # sent once


async def test_one_subjects_events_leave_in_publish_order_even_when_a_send_fails() -> None:
    broker, store, clock = InMemoryBroker(), InMemoryDeliveryStore(), Clock()
    transport = Refusing(broker)
    relay = Relay(transport, ["billing"], retry=Retry(attempts=5, base=1, cap=1))
    dispatcher = dispatcher_for(relay, store, clock)
    first, second = envelope("o1", subject="order-1"), envelope("o2", subject="order-1")
    await publish(store, relay, first, second)
    transport.refuse.add(first.id)

    await step(dispatcher)  # the first fails; the second waits behind it
    assert transport.sends == [[first.id]]
    clock.time += 1.001
    for _ in range(3):
        await step(dispatcher)

    assert broker.queued("billing") == [first, second]


async def test_forwarding_deliveries_claimed_together_go_in_one_send() -> None:
    broker, store, clock = InMemoryBroker(), InMemoryDeliveryStore(), Clock()
    transport = Refusing(broker)
    relay = Relay(transport, ["billing"], retry=Retry(attempts=5, base=1, cap=1))
    dispatcher = dispatcher_for(relay, store, clock, batches=True)
    placed = [envelope(f"o{i}", subject=f"order-{i}") for i in range(5)]
    await publish(store, relay, *placed)
    transport.refuse.add(placed[0].id)  # the whole batch fails once

    await step(dispatcher)
    assert transport.sends == [[e.id for e in placed]]
    assert await store.unsettled() == 5  # each retried on its own schedule
    clock.time += 1.001
    await step(dispatcher)

    assert sorted(e.id for e in broker.queued("billing")) == sorted(e.id for e in placed)
    assert await store.unsettled() == 0


async def test_a_delivery_to_a_unit_the_relay_does_not_know_is_a_poison_event() -> None:
    relay = Relay(InMemoryTransport(), ["billing"])
    claimed = Claimed(1, forward_handler("shipping"), 1, 3, envelope("o1"))

    with pytest.raises(PoisonEvent, match="no forwarding handler of this unit"):
        await relay.run(claimed)


def test_forwarding_deliveries_are_one_per_unit_and_keyed_by_subject() -> None:
    relay = Relay(InMemoryTransport(), ["billing", "notifications"])
    placed = envelope("o1", subject="order-1")

    deliveries = relay.deliveries(placed, ["notifications", "billing"])

    assert [(d.handler, d.ordering_key, d.event_id) for d in deliveries] == [
        ("dolmen.units.forward:billing", "order-1", placed.id),
        ("dolmen.units.forward:notifications", "order-1", placed.id),
    ]
