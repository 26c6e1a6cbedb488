"""A consumer keeps its partition's lease while a slow batch is being taken in (NATS, Redis)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest

from dolmen.events import Envelope
from dolmen.units import NatsTransport, RedisTransport

LEASE = 1.0


@pytest.fixture(params=["nats", "redis"])
async def leased(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[NatsTransport | RedisTransport, str]]:
    """A transport with one partition and short leases, and a destination of the test's own."""
    destination = f"t{uuid.uuid4().hex[:10]}"
    transport: NatsTransport | RedisTransport
    if request.param == "nats":
        url = request.getfixturevalue("nats_url")
        transport = NatsTransport(url, partitions=1, lease_seconds=LEASE)
    else:
        url = request.getfixturevalue("redis_url")
        transport = RedisTransport(url, partitions=1, lease_seconds=LEASE)
    await transport.open()
    yield transport, destination
    await transport.close()
    await transport.open()
    await transport.drop(destination)
    await transport.close()


def lease_mark(transport: NatsTransport | RedisTransport, destination: str) -> Awaitable[int]:
    """What changes upward when the lease is renewed: its revision, or its time to live."""
    if isinstance(transport, NatsTransport):
        assert transport._kv is not None

        async def revision() -> int:
            assert transport._kv is not None
            return int((await transport._kv.get(f"{destination}.0")).revision or 0)

        return revision()
    owner = f"{transport.stream(destination, 0)}:owner"
    return transport._redis().pttl(owner)


async def renewed(mark: Callable[[], Awaitable[int]], seconds: float = 30.0) -> bool:
    """Whether the mark goes up (the lease renewed) within ``seconds``."""
    last = await mark()
    for _ in range(round(seconds * 100)):
        await asyncio.sleep(0.01)
        now = await mark()
        if now > last:
            return True
        last = now
    return False


async def test_a_slow_batch_keeps_its_partitions_lease(
    leased: tuple[NatsTransport | RedisTransport, str],
) -> None:
    transport, destination = leased
    taking, release = asyncio.Event(), asyncio.Event()

    async def slow(envelopes: Sequence[Envelope]) -> None:
        taking.set()
        await release.wait()

    placed = Envelope("e1", "orders.OrderPlaced", 1, "/shop", 1.0, json.dumps({}), "order-1")
    subscription = await transport.subscribe(destination, slow)
    await transport.send(destination, [placed])
    try:
        await asyncio.wait_for(taking.wait(), 30)

        assert await renewed(lambda: lease_mark(transport, destination))
    finally:
        release.set()
        await subscription.stop()


async def test_a_nats_lease_whose_renewal_answer_was_lost_stays_its_holders(nats_url: str) -> None:
    """A renewal that reached NATS but whose answer did not (a timeout on a busy machine)
    leaves the entry one revision ahead of what the consumer knows: the lease is still its
    own, not lost until the entry expires; another consumer's entry is not taken."""
    key = f"t{uuid.uuid4().hex[:10]}.0"
    holder = NatsTransport(nats_url, partitions=1, lease_seconds=LEASE)
    other = NatsTransport(nats_url, partitions=1, lease_seconds=LEASE)
    await holder.open()
    await other.open()
    try:
        kv = await holder._leases(await holder._connected())
        known = await holder._hold(kv, key, None)
        assert known is not None
        lost = await kv.update(key, holder.name, last=known)  # a renewal whose answer was lost
        assert await holder._hold(kv, key, known) == lost  # still held, at the entry's revision
        assert await other._hold(await other._leases(await other._connected()), key, None) is None
        assert await other._hold(kv, key, known) is None
    finally:
        await kv.delete(key)
        await holder.close()
        await other.close()
