"""The sending half of events across units: forwarding deliveries, run by the dispatcher."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence

from dolmen.events import (
    Claimed,
    DeliveryQueue,
    Dispatcher,
    Envelope,
    EventSettings,
    NewDelivery,
    Outcome,
    PoisonEvent,
    Retry,
)
from dolmen.units._together import Together
from dolmen.units._transports._port import Transport

FORWARD_PREFIX = "dolmen.units.forward:"
"""Forwarding handlers are named ``dolmen.units.forward:<unit>``."""

FORWARD_RETRY = Retry(attempts=10_000, base=0.5, cap=30.0)
"""A broker that is down makes forwarding deliveries wait, retried at most every 30 s; they
go dead only after about two days of failures (then ``dolmen events replay`` them)."""

SEND_MOST = 2000
"""Envelopes in one send at most, when batches run side by side are sent together."""


def forward_handler(unit: str) -> str:
    """The name of the built-in handler that forwards events to ``unit``."""
    return f"{FORWARD_PREFIX}{unit}"


class Relay:
    """Forwards published events to the units that handle them, through a :class:`Transport`.

    For each event, the publishing unit's outbox holds one *forwarding delivery* per unit
    that has a handler for it (:meth:`deliveries`, written with the event, in the
    publisher's transaction). The local dispatcher runs them like any delivery, with
    :meth:`run` (or :meth:`run_batch`), which sends the event to that unit's destination:
    a failed send is retried with backoff, a broker that is down leaves them waiting in
    the outbox, and they go once it is back. Forwarding deliveries are ordered by subject,
    so one subject's events leave in publish order. Batches to one unit that are ready
    while a send to it is under way go together in the next send (one broker round trip
    and confirmation for all).

    Wiring (``units`` are the other units this one sends to)::

        relay = Relay(transport, units=["billing", "notifications"])
        dispatcher: handlers |= relay.handlers, ordered and batchable += relay.handlers
        runner: claimed.handler in relay.handlers -> await relay.run(claimed)
        publisher: deliveries += relay.deliveries(envelope, units_handling(envelope.type))
    """

    def __init__(
        self, transport: Transport, units: Collection[str], *, retry: Retry = FORWARD_RETRY
    ) -> None:
        self.transport = transport
        self.retry = retry
        self.handlers: dict[str, Retry] = {forward_handler(unit): retry for unit in sorted(units)}
        """The forwarding handlers, by name, with their retry policy (for the dispatcher)."""
        self._senders = {
            unit: Together(functools.partial(transport.send, unit), SEND_MOST) for unit in units
        }

    def dispatcher(
        self, outbox: DeliveryQueue, settings: EventSettings | None = None
    ) -> Dispatcher:
        """A dispatcher of ``outbox`` that runs the forwarding deliveries only, in batches.

        (An app's own dispatcher runs them with its handlers' deliveries, through
        :class:`BrokerEvents`; this one is for a relay on its own: tests, benchmarks.)
        """
        return Dispatcher(
            outbox, self.run, self.handlers, settings, ordered=self.handlers,
            run_batch=self.run_batch, batchable=self.handlers,
        )  # fmt: skip

    def deliveries(self, envelope: Envelope, units: Collection[str]) -> list[NewDelivery]:
        """The forwarding deliveries of ``envelope`` to ``units``, keyed by its subject."""
        return [
            NewDelivery(
                envelope.id,
                forward_handler(unit),
                envelope.type,
                self.retry.attempts,
                envelope.subject,
            )
            for unit in sorted(units)
        ]

    async def run(self, claimed: Claimed) -> bool:
        """Send one forwarding delivery's event; returns False (the dispatcher completes it)."""
        await self._senders[self._unit(claimed)]([claimed.envelope])
        return False

    async def run_batch(self, batch: Sequence[Claimed]) -> list[Outcome]:
        """Send the events of one forwarding handler's deliveries in one batch.

        They go or fail together: False for each (sent; the dispatcher records them done),
        or the send's error for each (each retried on its own schedule).
        """
        units = {self._unit(c) for c in batch}
        if len(units) != 1:
            raise ValueError("a batch holds the deliveries of one forwarding handler")
        try:
            await self._senders[units.pop()]([c.envelope for c in batch])
        except Exception as error:
            return [error] * len(batch)
        return [False] * len(batch)

    def _unit(self, claimed: Claimed) -> str:
        if claimed.handler not in self.handlers:
            raise PoisonEvent(
                f"{claimed.handler!r} is no forwarding handler of this unit (the unit was "
                "renamed or removed from [units]?); replay the dead letter once it exists "
                "again, or discard it"
            )
        return claimed.handler.removeprefix(FORWARD_PREFIX)
