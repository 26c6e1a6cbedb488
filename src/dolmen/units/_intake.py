"""The receiving half of events across units: from the broker into this unit's outbox."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from dolmen.events import Clock, Envelope, Inbox, NewDelivery, Retry, SystemClock
from dolmen.units._together import Together
from dolmen.units._transports._port import Transport, TransportSubscription

logger = logging.getLogger("dolmen.units")

KEEP_RECEIVED_SECONDS = 7 * 86400.0
"""How long a received event is remembered, so that a copy of it adds nothing: far longer
than any broker keeps an unacknowledged message before delivering it again."""

WRITE_MOST = 1000
"""Envelopes written in one transaction at most, when batches come in side by side."""


class LocalHandler(Protocol):
    """A handler of this unit, as the intake needs it (a module's ``Subscription`` is one)."""

    @property
    def name(self) -> str:
        """The handler's stable name (``billing.charge_order``)."""
        ...

    @property
    def retry(self) -> Retry:
        """Its retry policy (its number of tries)."""
        ...

    @property
    def ordered(self) -> bool:
        """Whether one subject's events reach it one at a time, in order."""
        ...


class Intake:
    """Takes the events other units send to ``unit`` into its outbox, once each, then acks.

    For each batch the transport hands it, the intake writes one delivery per local
    handler of each event (``handlers``, by event type) with :meth:`Inbox.receive`: in
    one transaction, skipping the (event id, handler) pairs received before, so a batch
    delivered again adds nothing. Only then does the transport acknowledge the batch; if
    writing fails, the batch comes again. From there the unit's own dispatcher delivers
    them, with retries, dead letters and order per subject, as if published here. Batches
    of several partitions that come while one is being written are written together, in
    the next transaction.

    ``on_received`` is called after a batch added deliveries (wake the dispatcher).
    """

    def __init__(
        self,
        transport: Transport,
        inbox: Inbox,
        unit: str,
        handlers: Mapping[str, Sequence[LocalHandler]],
        *,
        clock: Clock | None = None,
        on_received: Callable[[], None] | None = None,
        keep_received_seconds: float = KEEP_RECEIVED_SECONDS,
    ) -> None:
        self.transport = transport
        self.inbox = inbox
        self.unit = unit
        self.handlers = {event_type: list(h) for event_type, h in handlers.items() if h}
        self.clock = clock or SystemClock()
        self.on_received = on_received
        self.keep_received_seconds = keep_received_seconds
        self._subscription: TransportSubscription | None = None
        self._last_forget = 0.0
        self._writes = Together(self._write, WRITE_MOST)

    async def start(self) -> None:
        """Subscribe to this unit's destination (the transport must be open)."""
        if self._subscription is None:
            self._subscription = await self.transport.subscribe(self.unit, self.take)

    async def stop(self) -> None:
        """Stop taking events in (a batch being written is not acknowledged: it comes again)."""
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await subscription.stop()

    async def take(self, envelopes: Sequence[Envelope]) -> None:
        """Write one batch's deliveries; raises (nothing written) when the outbox fails."""
        await self._writes(envelopes)

    async def _write(self, envelopes: Sequence[Envelope]) -> None:
        now = self.clock.now()
        deliveries = [
            NewDelivery(
                envelope.id,
                handler.name,
                envelope.type,
                handler.retry.attempts,
                envelope.subject if handler.ordered else None,
            )
            for envelope in envelopes
            for handler in self.handlers.get(envelope.type, ())
        ]
        unknown = {e.type for e in envelopes} - self.handlers.keys()
        if unknown:
            logger.warning(
                "unit %r received events it has no handler for (%s): the sending unit's "
                "[units] differ from this one's? They are dropped",
                self.unit, ", ".join(sorted(unknown)),
            )  # fmt: skip
        written = await self.inbox.receive(envelopes, deliveries, now) if deliveries else 0
        if written and self.on_received is not None:
            self.on_received()
        if now - self._last_forget >= 3600.0:
            self._last_forget = now
            await self.inbox.forget_received(now - self.keep_received_seconds)
