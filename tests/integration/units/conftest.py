"""The brokers the transports' tests run on: in memory, RabbitMQ, NATS JetStream, Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from dolmen.units import (
    InMemoryBroker,
    InMemoryTransport,
    NatsTransport,
    RabbitMQTransport,
    RedisTransport,
    Transport,
)

LEASE = 1.0
"""Short leases (NATS, Redis) so that a dead consumer's partitions change hands quickly."""
PARTITIONS = 4


@dataclass
class Broker:
    """Makes transports to one broker, as separate processes would have them."""

    make: Callable[[], Transport]
    made: list[Transport] = field(default_factory=list)

    async def transport(self) -> Transport:
        transport = self.make()
        await transport.open()
        self.made.append(transport)
        return transport


@pytest.fixture
def destination() -> str:
    """A destination (queues, streams) of the test's own on the shared brokers."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["memory", "rabbitmq", "nats", "redis"])
async def broker(request: pytest.FixtureRequest, destination: str) -> AsyncIterator[Broker]:
    """One broker per kind, its transports closed and the test's destination dropped after."""
    kind = request.param
    if kind == "memory":
        shared = InMemoryBroker(partitions=PARTITIONS)
        made = Broker(lambda: InMemoryTransport(shared, retry_seconds=0.01))
    elif kind == "rabbitmq":
        url = request.getfixturevalue("rabbitmq_url")
        made = Broker(lambda: RabbitMQTransport(url, partitions=PARTITIONS))
    elif kind == "nats":
        url = request.getfixturevalue("nats_url")
        made = Broker(lambda: NatsTransport(url, partitions=PARTITIONS, lease_seconds=LEASE))
    else:
        url = request.getfixturevalue("redis_url")
        made = Broker(lambda: RedisTransport(url, partitions=PARTITIONS, lease_seconds=LEASE))
    yield made
    for transport in made.made:
        await transport.close()
    cleaner = made.make()
    drop = getattr(cleaner, "drop", None)
    if drop is not None:
        try:
            await cleaner.open()
            await drop(destination)
        finally:
            await cleaner.close()
