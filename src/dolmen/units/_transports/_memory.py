"""A transport in this process's memory: for tests, and for trying a split app out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from dolmen.events import Envelope
from dolmen.units._transports._consumers import Consumers
from dolmen.units._transports._port import (
    DEFAULT_PARTITIONS,
    OnBatch,
    TransportError,
    TransportSubscription,
    partition_of,
)

logger = logging.getLogger("dolmen.units")


class InMemoryBroker:
    """The queues that :class:`InMemoryTransport` objects share: one "broker" in memory.

    Set :attr:`reachable` to False to act a broker that is down: sending and pinging raise
    :class:`TransportError` (what is queued stays, and consumers stop taking it until it
    is back).
    """

    def __init__(self, partitions: int = DEFAULT_PARTITIONS) -> None:
        self.partitions = partitions
        self.reachable = True
        self._queues: dict[tuple[str, int], list[Envelope]] = {}
        self._owners: dict[tuple[str, int], object] = {}
        self._changed: asyncio.Event | None = None

    def queued(self, destination: str) -> list[Envelope]:
        """The envelopes not yet acknowledged for ``destination``, partition by partition."""
        return [
            e
            for (name, _), queue in sorted(self._queues.items())
            if name == destination
            for e in queue
        ]

    def set_reachable(self, reachable: bool) -> None:
        """Take the broker down (False) or bring it back (True)."""
        self.reachable = reachable
        self.changed()

    def changed(self) -> None:
        """Wake the consumers waiting for a change."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def wait(self) -> None:
        """Until the next change (a send, an acknowledgement, a consumer gone)."""
        if self._changed is None:
            self._changed = asyncio.Event()
        await self._changed.wait()

    def check(self) -> None:
        if not self.reachable:
            raise TransportError("the in-memory broker is down (InMemoryBroker.reachable)")


class InMemoryTransport:
    """A :class:`Transport` on an :class:`InMemoryBroker`, with the guarantees of the real ones.

    Each transport object stands for one process: give two of them the same broker to
    have two consumers of one destination (each partition is read by one of them at a
    time, in order; when one stops with a batch unacknowledged, the other takes it).
    ``retry_seconds`` is the wait before a batch whose ``on_batch`` raised is tried again.
    """

    def __init__(
        self,
        broker: InMemoryBroker | None = None,
        *,
        batch_size: int = 100,
        retry_seconds: float = 0.05,
    ) -> None:
        self.broker = broker if broker is not None else InMemoryBroker()
        self.batch_size = batch_size
        self.retry_seconds = retry_seconds
        self._subscriptions: list[Consumers] = []

    async def open(self) -> None:
        """Nothing to connect to; raises :class:`TransportError` while the broker is down."""
        self.broker.check()

    async def close(self) -> None:
        """Stop this transport's subscriptions."""
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.stop()

    async def ping(self) -> None:
        """Raise :class:`TransportError` while the broker is set unreachable."""
        self.broker.check()

    async def send(self, destination: str, envelopes: Sequence[Envelope]) -> None:
        """Queue ``envelopes`` for ``destination``, each in its subject's partition."""
        self.broker.check()
        for envelope in envelopes:
            key = (destination, partition_of(envelope, self.broker.partitions))
            self.broker._queues.setdefault(key, []).append(envelope)
        self.broker.changed()

    async def subscribe(self, destination: str, on_batch: OnBatch) -> TransportSubscription:
        """Consume every partition of ``destination`` that no other transport holds."""
        consumers = Consumers(f"memory:{destination}")
        for partition in range(self.broker.partitions):
            key = (destination, partition)
            consumers.run(self._consume(key, on_batch, consumers), str(partition))
            consumers.on_stop(self._releasing(key))
        self._subscriptions.append(consumers)
        return consumers

    # -- lag (dolmen.units._lag.MeasuresLag) -------------------------------------------

    async def lag(self, destination: str) -> dict[int, int]:
        """Envelopes not yet acknowledged for ``destination``, per partition."""
        self.broker.check()
        queues = self.broker._queues
        return {p: len(queues.get((destination, p), ())) for p in range(self.broker.partitions)}

    # -- consuming ---------------------------------------------------------------------

    def _releasing(self, key: tuple[str, int]) -> _Release:
        return _Release(self, key)

    async def _consume(self, key: tuple[str, int], on_batch: OnBatch, consumers: Consumers) -> None:
        broker = self.broker
        while not consumers.stopping:
            owner = broker._owners.setdefault(key, self)
            queue = broker._queues.get(key)
            if owner is not self or not queue or not broker.reachable:
                await broker.wait()
                continue
            batch = queue[: self.batch_size]
            try:
                await on_batch(list(batch))
            except Exception:
                logger.exception("taking in %d events failed; they come again", len(batch))
                await asyncio.sleep(self.retry_seconds)
                continue
            del queue[: len(batch)]  # acknowledged
            broker.changed()


class _Release:
    """Give a partition up when a subscription stops, so that another consumer takes it."""

    def __init__(self, transport: InMemoryTransport, key: tuple[str, int]) -> None:
        self.transport, self.key = transport, key

    async def __call__(self) -> None:
        broker = self.transport.broker
        if broker._owners.get(self.key) is self.transport:
            del broker._owners[self.key]
            broker.changed()
