"""An app's durable events: the outbox writer, the dispatcher and the handler runner."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dolmen.events import (
    Claimed,
    DeliveryContext,
    Dispatcher,
    Envelope,
    Event,
    EventAdmin,
    EventBackend,
    EventSettings,
    LeaseLost,
    NewDelivery,
    OutboxError,
    PoisonEvent,
)
from dolmen.persistence import UnitOfWork

if TYPE_CHECKING:
    from dolmen.modules._app import App
    from dolmen.modules._module import Subscription


class AppEvents:
    """Writes an app's published events to its outbox and delivers them to its handlers."""

    def __init__(self, app: App, backend: EventBackend, settings: EventSettings) -> None:
        self.app = app
        self.settings = settings
        self.backend = backend
        self._by_event: dict[str, list[Subscription]] = defaultdict(list)
        self._by_handler: dict[str, Subscription] = {}
        for subscription in app.subscriptions:
            self._by_event[subscription.event_type.event_name].append(subscription)
            self._by_handler[subscription.name] = subscription
        self.dispatcher = Dispatcher(
            backend.queue,
            self.run,
            {name: s.retry for name, s in self._by_handler.items()},
            settings,
            ordered=[name for name, s in self._by_handler.items() if s.ordered],
        )
        self.admin = EventAdmin(backend.queue, clock=self.dispatcher.clock, wake=self.wake)

    async def start(self) -> None:
        """Start delivering: the dispatcher, and listening for other processes' hints.

        The hints are the backend's wake-ups (PostgreSQL's NOTIFY, on a SQLite file
        Dolmen's wake sockets), which it prepares first (the outbox's NOTIFY trigger).
        """
        await self.backend.wakeup.open()
        if not self.settings.dispatch:
            return
        await self.backend.wakeup.listen(self.dispatcher.hint, self._listening)
        self.dispatcher.start()

    async def stop(self) -> None:
        """Stop delivering (see :meth:`Dispatcher.stop`)."""
        await self.dispatcher.stop()
        await self.backend.wakeup.close()
        self.dispatcher.hinted = False

    def _listening(self, listening: bool) -> None:
        """Whether other processes' commits wake this one (else poll fast while events flow)."""
        self.dispatcher.hinted = listening
        if listening:
            self.dispatcher.hint()  # what was committed while not listening

    def wake(self) -> None:
        """New deliveries were committed: claim them here, and tell the other processes."""
        if self.settings.dispatch:
            self.dispatcher.hint()
        self.backend.wakeup.notify()

    async def write(self, uow: UnitOfWork, published: Sequence[tuple[Event, str | None]]) -> bool:
        """Add ``published`` and one delivery per handler to the unit of work's transaction.

        Returns whether anything was written (an event nobody handles is not stored).
        """
        envelopes: list[Envelope] = []
        deliveries: list[NewDelivery] = []
        now = self.dispatcher.clock.now()
        for event, subject in published:
            handlers = self._by_event.get(event.event_name)
            if not handlers:
                continue
            source = f"/{self.app.name}/{event.owner_module()}"
            envelope = Envelope.of(event, source=source, time=now, subject=subject)
            envelopes.append(envelope)
            deliveries += [
                NewDelivery(
                    envelope.id,
                    handler.name,
                    envelope.type,
                    handler.retry.attempts,
                    subject if handler.ordered else None,
                )
                for handler in handlers
            ]
        if not envelopes:
            return False
        if not uow.write:
            raise OutboxError(
                "events are published by units of work that write; this one is read-only "
                "(an HTTP GET?); publish from a POST, PUT, PATCH or DELETE, or a command"
            )
        await self.backend.outbox.append(uow, envelopes, deliveries)
        return True

    async def run(self, claimed: Claimed) -> bool:
        """Run the handler of one claimed delivery in a unit of work of its own.

        When the handler used the database, the delivery is marked done in its
        transaction, so its effects and its completion commit together (a redelivery then
        finds nothing to do). Returns whether that happened.
        """
        subscription = self._by_handler.get(claimed.handler)
        if subscription is None:
            raise PoisonEvent(
                f"this app has no handler {claimed.handler!r} (renamed or removed?); replay "
                "the dead letter once it exists again, or discard it"
            )
        event = claimed.event(subscription.event_type)
        context = claimed.context()
        parameters = self.app.handler_parameters(subscription)
        if all(p.key is DeliveryContext for p in parameters):
            # It asks for no service: no unit of work to open (it cannot touch the database
            # or publish); the dispatcher records its completion in a batch.
            await subscription.handler(event, **{p.name: context for p in parameters})
            return False
        queue, owner = self.backend.queue, self.dispatcher.owner
        recorded = False

        async def complete_in_transaction() -> None:
            nonlocal recorded
            if not work.uow.touched_database:
                return  # nothing to commit with it: the dispatcher records it in a batch
            now = self.dispatcher.clock.now()
            if await queue.complete([claimed.id], owner, now, work.uow) != 1:
                raise LeaseLost(claimed.id)
            recorded = True

        async with self.app.unit_of_work(subscription.module) as work:
            kwargs: dict[str, Any] = {}
            for parameter in parameters:
                if parameter.key is DeliveryContext:
                    kwargs[parameter.name] = context
                else:
                    kwargs[parameter.name] = await work.get(parameter.key)
            await subscription.handler(event, **kwargs)
            work.uow.before_commit(complete_in_transaction)
        return recorded
