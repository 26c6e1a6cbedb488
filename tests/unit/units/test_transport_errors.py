"""A broker that cannot be reached is a TransportError, with where and what to install."""

from __future__ import annotations

import json

import pytest

from dolmen.events import Envelope
from dolmen.units import (
    InMemoryBroker,
    InMemoryTransport,
    NatsTransport,
    RabbitMQTransport,
    RedisTransport,
    Transport,
    TransportError,
    UnitsSettings,
    partition_of,
    transport_for,
)

CLOSED_PORT = 1
"""Nothing listens there: connecting is refused at once."""


@pytest.mark.parametrize(
    "transport",
    [
        RabbitMQTransport(f"amqp://guest:secret@127.0.0.1:{CLOSED_PORT}/", timeout=5),
        NatsTransport(f"nats://127.0.0.1:{CLOSED_PORT}", timeout=5),
        RedisTransport(f"redis://:secret@127.0.0.1:{CLOSED_PORT}/0", timeout=5),
    ],
    ids=["rabbitmq", "nats", "redis"],
)
async def test_a_broker_that_cannot_be_reached_fails_ping_and_send(transport: Transport) -> None:
    envelope = Envelope("e1", "orders.OrderPlaced", 1, "/shop/orders", 1.0, "{}", "order-1")
    try:
        with pytest.raises(TransportError, match=f"127.0.0.1:{CLOSED_PORT}") as refused:
            await transport.ping()
        assert "secret" not in str(refused.value)  # the password stays out of messages
        with pytest.raises(TransportError):
            await transport.send("billing", [envelope])
    finally:
        await transport.close()


async def test_the_in_memory_broker_can_be_taken_down_and_brought_back() -> None:
    broker = InMemoryBroker()
    transport = InMemoryTransport(broker)
    envelope = Envelope("e1", "orders.OrderPlaced", 1, "/shop/orders", 1.0, "{}")

    broker.set_reachable(False)
    with pytest.raises(TransportError, match="down"):
        await transport.ping()
    with pytest.raises(TransportError):
        await transport.send("billing", [envelope])
    assert broker.queued("billing") == []

    broker.set_reachable(True)
    await transport.send("billing", [envelope])
    assert broker.queued("billing") == [envelope]


def test_one_subject_always_goes_to_the_same_partition_in_every_process() -> None:
    def of(subject: str | None, event_id: str = "e1") -> int:
        data = json.dumps({})
        return partition_of(Envelope(event_id, "t", 1, "/s", 1.0, data, subject), 8)

    assert of("order-1", "e1") == of("order-1", "e2")
    assert of("order-1") == 7  # CRC-32, not hash(): the same number in every process
    assert {of(f"order-{i}") for i in range(100)} == set(range(8))


@pytest.mark.parametrize(
    ("transport", "kind"),
    [("rabbitmq", RabbitMQTransport), ("nats", NatsTransport), ("redis", RedisTransport)],
)
def test_the_settings_name_the_transport(transport: str, kind: type[Transport]) -> None:
    settings = UnitsSettings(transport=transport, broker_url="x://broker", event_partitions=3)  # type: ignore[arg-type]

    made = transport_for(settings)

    assert isinstance(made, kind)
    assert made.partitions == 3  # type: ignore[attr-defined]


def test_a_broker_transport_without_its_url_says_which_setting_is_missing() -> None:
    assert transport_for(UnitsSettings()) is None  # "database": no broker

    with pytest.raises(TransportError, match="DOLMEN__UNITS__BROKER_URL"):
        transport_for(UnitsSettings(transport="nats"))
