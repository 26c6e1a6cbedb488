"""Events across units through a broker: this unit's forwarding routes and its intake, wired."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, cast

from dolmen.events import Claimed, Envelope, Inbox, NewDelivery, Outcome, Retry
from dolmen.units._intake import Intake, LocalHandler
from dolmen.units._lag import MeasuresLag
from dolmen.units._relay import Relay
from dolmen.units._topology import Topology
from dolmen.units._transports._port import (
    OnBatch,
    Transport,
    TransportError,
    TransportSubscription,
)

logger = logging.getLogger("dolmen.units")


class RoutedHandler(LocalHandler, Protocol):
    """A handler as the broker routes see it (a module's ``Subscription`` is one)."""

    @property
    def module(self) -> str:
        """The module it belongs to."""
        ...

    @property
    def event_type(self) -> type:
        """The event class it handles (``event_name`` is the type on the wire)."""
        ...


def destination(namespace: str | None, unit: str) -> str:
    """The broker destination of ``unit``: ``<namespace>-<unit>``, or the unit's name."""
    return unit if not namespace else f"{namespace}-{unit}"


class Namespaced:
    """A transport whose destinations are units' names, prefixed by ``[units] broker_namespace``."""

    def __init__(self, transport: Transport, namespace: str | None) -> None:
        self.transport = transport
        self.namespace = namespace

    async def open(self) -> None:
        await self.transport.open()

    async def close(self) -> None:
        await self.transport.close()

    async def ping(self) -> None:
        await self.transport.ping()

    async def send(self, unit: str, envelopes: Sequence[Envelope]) -> None:
        await self.transport.send(destination(self.namespace, unit), envelopes)

    async def subscribe(self, unit: str, on_batch: OnBatch) -> TransportSubscription:
        return await self.transport.subscribe(destination(self.namespace, unit), on_batch)

    async def lag(self, unit: str) -> Mapping[int, int]:
        """What waits on the broker for ``unit``, per partition (see :class:`MeasuresLag`)."""
        if not isinstance(self.transport, MeasuresLag):
            raise TransportError("this transport cannot tell what waits on the broker (no lag)")
        return await self.transport.lag(destination(self.namespace, unit))


class BrokerEvents:
    """The events of one unit that cross to the others through a broker (``Units`` wires it).

    It is the unit's event route (:class:`dolmen.EventRoutes`): a handler of another unit
    gets no delivery in this unit's outbox; each published event gets one *forwarding
    delivery* per unit that handles it instead (:class:`Relay`), which the dispatcher runs
    with retries, backoff and dead letters. Its :class:`Intake` takes the events the other
    units send this one into its own outbox, one delivery per local handler.
    """

    def __init__(
        self,
        transport: Transport,
        topology: Topology,
        subscriptions: Sequence[RoutedHandler],
        namespace: str | None = None,
    ) -> None:
        assert topology.current is not None  # a unit is chosen
        self.topology = topology
        self.unit = topology.current
        self.transport = Namespaced(transport, namespace)
        local = topology.local_modules
        self.forwarded: dict[str, set[str]] = defaultdict(set)
        """The units each event type goes to from this one (``dolmen units`` shows them)."""
        handled: dict[str, list[LocalHandler]] = defaultdict(list)
        for subscription in subscriptions:
            event_type = _event_name(subscription)
            if subscription.module in local:
                handled[event_type].append(subscription)
            else:
                self.forwarded[event_type].add(topology.unit_of(subscription.module).name)
        others = sorted({unit for units in self.forwarded.values() for unit in units})
        self.relay = Relay(self.transport, others)
        self.local_handlers: Mapping[str, Sequence[LocalHandler]] = dict(handled)
        self.intake: Intake | None = None

    # -- the route (dolmen.EventRoutes) -----------------------------------------------

    @property
    def handlers(self) -> Mapping[str, Retry]:
        """The forwarding handlers, one per unit this one sends events to."""
        return self.relay.handlers

    def takes(self, subscription: RoutedHandler) -> bool:
        """Whether the handler runs in another unit (its events go through the broker)."""
        return subscription.module not in self.topology.local_modules

    def deliveries(
        self, envelope: Envelope, taken: Sequence[RoutedHandler]
    ) -> Sequence[NewDelivery]:
        """One forwarding delivery per unit running one of ``taken``, keyed by subject."""
        units = {self.topology.unit_of(s.module).name for s in taken}
        return self.relay.deliveries(envelope, units)

    async def run(self, claimed: Claimed) -> bool:
        """Send one forwarding delivery's event to its unit."""
        return await self.relay.run(claimed)

    async def run_batch(self, batch: Sequence[Claimed]) -> Sequence[Outcome]:
        """Send a batch of one forwarding handler's deliveries at once."""
        return await self.relay.run_batch(batch)

    # -- the lifecycle ---------------------------------------------------------------

    def take_in(self, inbox: object, wake: Callable[[], None]) -> None:
        """Take this unit's events from the broker into ``inbox`` (the app's outbox)."""
        self.intake = Intake(
            self.transport, cast(Inbox, inbox), self.unit, self.local_handlers, on_received=wake
        )

    async def open(self) -> None:
        """Connect to the broker; one that cannot be reached yet does not stop the unit.

        The unit starts and waits for it: forwarding deliveries stay in the outbox, retried
        with backoff, the intake's consumers connect when it answers, and ``/readyz`` says
        ``broker`` failed meanwhile.
        """
        try:
            await self.transport.open()
        except TransportError as error:
            logger.warning(
                "unit %r starts without its broker, which cannot be reached (%s); events to "
                "other units wait in the outbox and flow once it answers", self.unit, error,
            )  # fmt: skip

    async def ping(self) -> None:
        """Raise :class:`TransportError` unless the broker answers (the unit's readiness)."""
        await self.transport.ping()

    async def start(self) -> None:
        """Subscribe to this unit's destination, when it has handlers of other units' events."""
        if self.intake is not None and self.local_handlers:
            await self.intake.start()

    async def stop(self) -> None:
        """Stop taking events in, and disconnect."""
        try:
            if self.intake is not None:
                await self.intake.stop()
        finally:
            await self.transport.close()


def _event_name(subscription: RoutedHandler) -> str:
    name: str = getattr(subscription.event_type, "event_name")  # noqa: B009 (a classvar)
    return name
