"""Every transport carries envelopes between units at least once, in order per subject.

The same tests run on the in-memory transport and on each broker (RabbitMQ, NATS
JetStream, Redis Streams), each test on a destination of its own, deleted afterwards.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from dolmen.events import Envelope
from dolmen.events._envelope import new_event_id
from dolmen.units import TransportError
from tests.integration.units.conftest import Broker
from tests.waiting import within


def envelope(label: str, subject: str | None = None) -> Envelope:
    return Envelope(
        id=new_event_id(),
        type="orders.OrderPlaced",
        version=1,
        source="/shop/orders",
        time=1_700_000_000.0,
        data=json.dumps({"label": label}),
        subject=subject,
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )


@dataclass
class Received:
    """What ``on_batch`` was given, batch by batch, by which consumer."""

    batches: list[tuple[str, list[Envelope]]] = field(default_factory=list)

    def handler(self, consumer: str) -> Callable[[Sequence[Envelope]], asyncio.Future[None]]:
        async def on_batch(envelopes: Sequence[Envelope]) -> None:
            self.batches.append((consumer, list(envelopes)))

        return on_batch  # type: ignore[return-value]

    @property
    def envelopes(self) -> list[Envelope]:
        return [e for _, batch in self.batches for e in batch]

    def ids(self) -> set[str]:
        return {e.id for e in self.envelopes}


async def test_a_sent_batch_is_received_whole_with_every_attribute(
    broker: Broker, destination: str
) -> None:
    sender, receiver = await broker.transport(), await broker.transport()
    received = Received()
    await receiver.subscribe(destination, received.handler("r"))
    sent = [envelope(f"o{i}", subject=f"order-{i % 3}") for i in range(10)] + [envelope("x")]

    await sender.send(destination, sent)

    assert await within(30, lambda: received.ids() == {e.id for e in sent})
    assert sorted(received.envelopes, key=lambda e: e.id) == sorted(sent, key=lambda e: e.id)


async def test_a_batch_whose_handler_raised_comes_again(broker: Broker, destination: str) -> None:
    transport = await broker.transport()
    tries: list[list[str]] = []

    async def on_batch(envelopes: Sequence[Envelope]) -> None:
        tries.append([e.id for e in envelopes])
        if len(tries) == 1:
            raise RuntimeError("the outbox is unavailable")

    await transport.subscribe(destination, on_batch)
    sent = envelope("o1", subject="order-1")
    await transport.send(destination, [sent])

    assert await within(30, lambda: len(tries) >= 2)
    assert tries[0] == [sent.id]
    assert tries[1] == [sent.id]  # the same message again, nothing lost


async def test_one_subjects_events_arrive_in_send_order_with_two_consumers(
    broker: Broker, destination: str
) -> None:
    sender = await broker.transport()
    received = Received()
    for name in ("a", "b"):
        consumer = await broker.transport()
        await consumer.subscribe(destination, received.handler(name))
    sent = [envelope(f"o{i}", subject=f"order-{i % 5}") for i in range(60)]
    for start in range(0, 60, 7):  # several sends, several messages of a subject in each
        await sender.send(destination, sent[start : start + 7])

    assert await within(30, lambda: len(received.ids()) == 60)
    for subject in {e.subject for e in sent}:
        order = [e.id for e in received.envelopes if e.subject == subject]
        assert order == [e.id for e in sent if e.subject == subject]


async def test_a_consumer_that_dies_before_acknowledging_leaves_its_batch_to_another(
    broker: Broker, destination: str
) -> None:
    sender = await broker.transport()
    doomed = await broker.transport()
    stuck: list[str] = []

    async def never_returns(envelopes: Sequence[Envelope]) -> None:
        stuck.extend(e.id for e in envelopes)
        await asyncio.Event().wait()

    await doomed.subscribe(destination, never_returns)
    sent = [envelope(f"o{i}", subject="order-1") for i in range(3)]
    await sender.send(destination, sent)
    assert await within(30, lambda: len(stuck) > 0)  # the first consumer holds them, no ack

    survivor = await broker.transport()
    received = Received()
    await survivor.subscribe(destination, received.handler("survivor"))
    await doomed.close()  # its process ends: nothing acknowledged

    assert await within(30, lambda: received.ids() == {e.id for e in sent})
    assert [e.id for e in received.envelopes] == [e.id for e in sent]  # still in order


@pytest.mark.parametrize("broker", ["rabbitmq"], indirect=True)
async def test_a_send_whose_queues_were_deleted_fails_and_the_next_declares_them_again(
    broker: Broker, destination: str
) -> None:
    sender = await broker.transport()
    await sender.send(destination, [envelope("before")])
    cleaner = await broker.transport()
    await cleaner.drop(destination)  # type: ignore[attr-defined]  # (a RabbitMQ transport)
    lost = envelope("while the queues were gone", subject="order-1")

    with pytest.raises(TransportError, match="returned"):
        await sender.send(destination, [lost])  # not silently dropped: the outbox keeps it
    await sender.send(destination, [lost])

    received = Received()
    await (await broker.transport()).subscribe(destination, received.handler("r"))
    assert await within(30, lambda: received.ids() == {lost.id})


@pytest.mark.parametrize("broker", ["rabbitmq"], indirect=True)
async def test_a_consumer_whose_queue_was_deleted_consumes_it_again_once_declared(
    broker: Broker, destination: str
) -> None:
    sender, receiver = await broker.transport(), await broker.transport()
    received = Received()
    await receiver.subscribe(destination, received.handler("r"))
    first = envelope("before")
    await sender.send(destination, [first])
    assert await within(30, lambda: first.id in received.ids())
    cleaner = await broker.transport()
    await cleaner.drop(destination)  # type: ignore[attr-defined]  # the broker cancels the consumers

    later = envelope("after the queues were deleted", subject="order-1")
    for _ in range(300):  # the first send may come back (no queue yet): the outbox retries
        try:
            await sender.send(destination, [later])
            break
        except TransportError:
            await asyncio.sleep(0.1)

    assert await within(30, lambda: later.id in received.ids())


async def test_ping_tells_whether_the_broker_answers(broker: Broker) -> None:
    transport = await broker.transport()
    await transport.ping()
