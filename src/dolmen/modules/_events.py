"""An app's durable events: the outbox writer, the dispatcher and the handler runner."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dolmen.events._admin import EventAdmin
from dolmen.events._delivery import DeliveryContext, PoisonEvent, context_of, decode
from dolmen.events._dispatcher import Dispatcher, LeaseLost
from dolmen.events._envelope import Envelope, new_event_id
from dolmen.events._event import Event
from dolmen.events._notify import Listener, ensure_notify_trigger
from dolmen.events._outbox_table import deliveries as deliveries_table
from dolmen.events._settings import EventSettings
from dolmen.events._sql_store import SqlDeliveryStore
from dolmen.events._sqlite_wake import WakeSockets
from dolmen.events._store import Claimed, NewDelivery
from dolmen.events._trace import current_traceparent
from dolmen.events.exceptions import OutboxError
from dolmen.persistence import Database, UnitOfWork

if TYPE_CHECKING:
    from dolmen.modules._app import App
    from dolmen.modules._module import Subscription


class AppEvents:
    """Writes an app's published events to its outbox and delivers them to its handlers."""

    def __init__(self, app: App, database: Database, settings: EventSettings) -> None:
        self.app = app
        self.settings = settings
        self.store = SqlDeliveryStore(database, keep_completed=settings.keep_completed_seconds > 0)
        self._by_event: dict[str, list[Subscription]] = defaultdict(list)
        self._by_handler: dict[str, Subscription] = {}
        for subscription in app.subscriptions:
            self._by_event[subscription.event_type.event_name].append(subscription)
            self._by_handler[subscription.name] = subscription
        self.dispatcher = Dispatcher(
            self.store,
            self.run,
            {name: s.retry for name, s in self._by_handler.items()},
            settings,
            ordered=[name for name, s in self._by_handler.items() if s.ordered],
        )
        self.admin = EventAdmin(self.store, clock=self.dispatcher.clock, wake=self.wake)
        self._listener: Listener | None = None
        path = database.sqlite_file
        self._wake_sockets = WakeSockets(path) if path is not None else None
        """On a SQLite file: how the processes of the app wake each other's dispatchers."""

    async def start(self) -> None:
        """Start delivering: the dispatcher, and a listener for other processes' hints.

        The hints are PostgreSQL's NOTIFY, or on a SQLite file Dolmen's wake sockets. On
        PostgreSQL the outbox gets its NOTIFY trigger first if it lacks it.
        """
        database = self.store.database
        if not database.is_sqlite:
            await ensure_notify_trigger(database.engine, deliveries_table)
        if not self.settings.dispatch:
            return
        if self._wake_sockets is not None:
            self.dispatcher.hinted = self._wake_sockets.listen(self.dispatcher.hint)
        elif not database.is_sqlite:
            self._listener = Listener(database.engine, self.dispatcher.hint, self._listening)
            await self._listener.start()
        self.dispatcher.start()

    async def stop(self) -> None:
        """Stop delivering (see :meth:`Dispatcher.stop`)."""
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        await self.dispatcher.stop()
        if self._wake_sockets is not None:
            self._wake_sockets.close()
        self.dispatcher.hinted = False

    def _listening(self, listening: bool) -> None:
        """Whether PostgreSQL's NOTIFY reaches this process (else poll fast while events flow)."""
        self.dispatcher.hinted = listening
        if listening:
            self.dispatcher.hint()  # what was committed while not listening

    def wake(self) -> None:
        """New deliveries were committed: claim them here, and tell the other processes."""
        if self.settings.dispatch:
            self.dispatcher.hint()
        if self._wake_sockets is not None:
            self._wake_sockets.notify()

    async def write(self, uow: UnitOfWork, published: Sequence[tuple[Event, str | None]]) -> bool:
        """Add ``published`` and one delivery per handler to the unit of work's transaction.

        Returns whether anything was written (an event nobody handles is not stored).
        """
        envelopes: list[Envelope] = []
        deliveries: list[NewDelivery] = []
        now = self.dispatcher.clock.now()
        traceparent = current_traceparent()
        for event, subject in published:
            handlers = self._by_event.get(event.event_name)
            if not handlers:
                continue
            envelope = Envelope(
                id=new_event_id(),
                type=event.event_name,
                version=event.event_version,
                source=f"/{self.app.name}/{event.owner_module()}",
                time=now,
                data=event.model_dump_json(),
                subject=subject,
                traceparent=traceparent,
            )
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
        connection = await uow.connection()
        # On PostgreSQL, the outbox's trigger sends NOTIFY (see dolmen.events._notify).
        await self.store.append(connection, envelopes, deliveries)
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
        event = decode(claimed.envelope, subscription.event_type)
        context = context_of(claimed)
        parameters = self.app.handler_parameters(subscription)
        if all(p.key is DeliveryContext for p in parameters):
            # It asks for no service: no unit of work to open (it cannot touch the database
            # or publish); the dispatcher records its completion in a batch.
            await subscription.handler(event, **{p.name: context for p in parameters})
            return False
        store, owner = self.store, self.dispatcher.owner
        recorded = False

        async def complete_in_transaction() -> None:
            nonlocal recorded
            if not work.uow.touched_database:
                return  # nothing to commit with it: the dispatcher records it in a batch
            connection = await work.uow.connection()
            now = self.dispatcher.clock.now()
            if await store.complete([claimed.id], owner, now, connection) != 1:
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
