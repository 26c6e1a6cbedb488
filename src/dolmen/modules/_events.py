"""An app's durable events: the outbox writer, the dispatcher and the handler runner."""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from dolmen.events import (
    SLOW_DELIVERY_SECONDS,
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
from dolmen.modules._database_time import DatabaseTime
from dolmen.modules._work import Work
from dolmen.persistence import UnitOfWork, sqlstate

if TYPE_CHECKING:
    from dolmen.modules._app import App
    from dolmen.modules._extension import EventRoutes
    from dolmen.modules._module import Subscription


BATCH_LOCK_TIMEOUT = "50ms"
"""How long a delivery of a batch waits for a lock (PostgreSQL) before the batch gives way."""
_SHORT_LOCK_TIMEOUT = text(f"SELECT set_config('lock_timeout', '{BATCH_LOCK_TIMEOUT}', true)")
_USUAL_LOCK_TIMEOUT = text(
    "SELECT set_config('lock_timeout', reset_val, true) FROM pg_settings "
    "WHERE name = 'lock_timeout'"
)
_LOCK_NOT_AVAILABLE = "55P03"
_SLOW_BATCH_SECONDS = 0.05
"""A batch gives way to a slow handler only once that spent this long outside the database in
all, too: a pause of the process early in a batch (a busy machine, a garbage collection) does
not send its other deliveries to run one transaction each."""


def _waited_for_a_lock(outcome: bool | Exception) -> bool:
    """Whether a delivery of a batch failed on the batch's lock timeout (then it runs alone)."""
    error: BaseException | None = outcome if isinstance(outcome, Exception) else None
    while error is not None:
        if isinstance(error, DBAPIError) and sqlstate(error) == _LOCK_NOT_AVAILABLE:
            return True
        error = error.__cause__ or error.__context__
    return False


def _transaction(connection: AsyncConnection) -> object:
    """The transaction ``connection`` is in (a new one once a handler ended it)."""
    sync = connection.sync_connection
    return None if sync is None else sync.get_transaction()


class _FailedAfterWriting(Exception):  # a signal, not an error
    """A delivery of a batch without savepoints failed after a statement: run it with them."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(index, error)
        self.index = index
        self.error = error


class BatchEnded(RuntimeError):
    """A handler ended the transaction its batch of deliveries shares (a ``rollback()``)."""

    def __init__(self, handler: str) -> None:
        super().__init__(
            f"handler {handler!r} ended the transaction of its batch of deliveries (it called "
            "rollback() on its session or connection?); each of them runs alone now, where a "
            "rollback undoes only its own delivery. Raise an exception instead to undo a "
            "delivery's writes: it is retried"
        )


class AppEvents:
    """Writes an app's published events to its outbox and delivers them to its handlers."""

    def __init__(self, app: App, backend: EventBackend, settings: EventSettings) -> None:
        self.app = app
        self.settings = settings
        self.backend = backend
        self._by_event: dict[str, list[Subscription]] = defaultdict(list)
        self._by_handler: dict[str, Subscription] = {}
        # The extensions' routes (deployment units over a broker): the handlers one takes
        # get its deliveries instead of their own, run by its handlers.
        self._routes: list[EventRoutes] = []
        for extension in app.extensions:
            route = extension.event_routes(backend, self.wake)
            if route is not None:
                self._routes.append(route)
        self._routed: dict[str, dict[EventRoutes, list[Subscription]]] = defaultdict(dict)
        self._route_of: dict[str, EventRoutes] = {}
        for route in self._routes:
            for name in route.handlers:
                self._route_of.setdefault(name, route)
        local = {m.name for m in app.local_modules}
        for subscription in app.subscriptions:
            event_name = subscription.event_type.event_name
            route = next((r for r in self._routes if r.takes(subscription)), None)
            if route is not None:
                self._routed[event_name].setdefault(route, []).append(subscription)
                continue
            # A delivery for every handler, wherever it runs; this process runs its own.
            self._by_event[event_name].append(subscription)
            if subscription.module in local:
                self._by_handler[subscription.name] = subscription
        retries = {name: s.retry for name, s in self._by_handler.items()}
        retries.update({name: route.handlers[name] for name, route in self._route_of.items()})
        self.dispatcher = Dispatcher(
            backend.queue,
            self.run,
            retries,
            settings,
            ordered=[
                *(name for name, s in self._by_handler.items() if s.ordered),
                *self._route_of,
            ],
            run_batch=self.run_batch,
            batchable=[
                *(name for name, s in self._by_handler.items() if self._uses_services(s)),
                *self._route_of,
            ],
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

    async def write(
        self, uow: UnitOfWork, published: Sequence[tuple[Event, str | None, str | None]]
    ) -> bool:
        """Add ``published`` and one delivery per handler to the unit of work's transaction.

        Returns whether anything was written (an event nobody handles is not stored).
        """
        envelopes: list[Envelope] = []
        deliveries: list[NewDelivery] = []
        now = self.dispatcher.clock.now()
        if self.app.published_observers:
            types = [event.event_name for event, _, _ in published]
            uow.after_commit(functools.partial(self._tell_published, types))
        for event, subject, traceparent in published:
            handlers = self._by_event.get(event.event_name, ())
            routed = self._routed.get(event.event_name)
            if not handlers and not routed:
                continue
            source = f"/{self.app.name}/{event.owner_module()}"
            envelope = Envelope.of(
                event, source=source, time=now, subject=subject, traceparent=traceparent
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
            for route, taken in (routed or {}).items():
                deliveries += route.deliveries(envelope, taken)
        if not envelopes:
            return False
        if not uow.write:
            raise OutboxError(
                "events are published by units of work that write; this one is read-only "
                "(an HTTP GET?); publish from a POST, PUT, PATCH or DELETE, or a command"
            )
        await self.backend.outbox.append(uow, envelopes, deliveries)
        return True

    def _tell_published(self, types: Sequence[str]) -> None:
        for observer in self.app.published_observers:
            observer(types)

    async def run(self, claimed: Claimed) -> bool:
        """Run the handler of one claimed delivery in a unit of work of its own.

        When the handler used the database, the delivery is marked done in its
        transaction, so its effects and its completion commit together (a redelivery then
        finds nothing to do). Returns whether that happened.
        """
        route = self._route_of.get(claimed.handler)
        if route is not None:
            return await route.run(claimed)
        subscription = self._by_handler.get(claimed.handler)
        if subscription is None:
            raise PoisonEvent(
                f"this app has no handler {claimed.handler!r} (renamed or removed?); replay "
                "the dead letter once it exists again, or discard it"
            )
        event = claimed.event(subscription.event_type)
        context = claimed.context()
        parameters = self.app.handler_parameters(subscription)
        if not self._uses_services(subscription):
            # It asks for no service: no unit of work to open (it cannot touch the database
            # or publish); the dispatcher records its completion in a batch.
            call = functools.partial(
                subscription.handler, event, **{p.name: context for p in parameters}
            )
            await self._intercepted(context, call)
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
            await self._call(subscription, event, context, work)
            work.uow.before_commit(complete_in_transaction)
        return recorded

    async def run_batch(self, batch: Sequence[Claimed]) -> list[bool | Exception]:
        """Run deliveries of one handler in one transaction that commits once.

        First without a savepoint per delivery (a round trip each saved): while every
        delivery succeeds, or fails before running any statement, their completions are
        recorded in the transaction and it commits. When one fails after running one, the
        transaction is rolled back and the batch runs again, each delivery in a savepoint of
        its own (a failing one then rolls back its own effects and nothing else); the one
        that failed is not run again, the others before it are (their effects in the
        database were undone with the transaction; effects outside it are keyed by
        ``event_id``, as on any retry). Its outcome is the exception.

        It stops early, the outcomes covering those that ran, when the handler spent more
        than ``SLOW_DELIVERY_SECONDS`` per delivery outside the database, and 50 ms in all
        (waiting on another service, say), or (PostgreSQL) waited longer than
        ``BATCH_LOCK_TIMEOUT`` for a lock: a batch holds the locks of all its deliveries
        until it commits, so it gives way rather than wait (and never becomes half of a
        deadlock). Raises (nothing committed) when the transaction cannot commit, a handler
        ended the transaction itself (a ``rollback()``), or another process took one of them
        over after its lease ran out: the dispatcher then runs each alone.
        """
        route = self._route_of.get(batch[0].handler)
        if route is not None:
            return list(await route.run_batch(batch))
        subscription = self._by_handler[batch[0].handler]
        try:
            return await self._run_together(batch, subscription, {})
        except _FailedAfterWriting as failed:
            return await self._run_together(batch, subscription, {failed.index: failed.error})

    async def _run_together(
        self, batch: Sequence[Claimed], subscription: Subscription, known: dict[int, Exception]
    ) -> list[bool | Exception]:
        """One try at :meth:`run_batch`: with savepoints once ``known`` holds a failure."""
        assert self.app.database is not None  # started
        savepoints = bool(known)
        outer = UnitOfWork(self.app.database)
        outcomes: list[bool | Exception] = []
        database_time: DatabaseTime | None = None

        try:
            connection = await outer.connection()
            await connection.begin()  # on SQLite: waits for the write lock, not timed below
            transaction = _transaction(connection)
            postgres = not self.app.database.is_sqlite
            if postgres:
                await connection.execute(_SHORT_LOCK_TIMEOUT)
            database_time = DatabaseTime(connection)
            started = time.perf_counter()
            for index, claimed in enumerate(batch):
                elsewhere = time.perf_counter() - started - database_time.seconds
                if elsewhere > max(len(outcomes) * SLOW_DELIVERY_SECONDS, _SLOW_BATCH_SECONDS):
                    break  # a slow handler: its other deliveries run side by side instead
                outcome: bool | Exception
                if index in known:
                    outcome = known[index]  # it failed in the try without savepoints
                else:
                    statements = database_time.statements
                    work = self._nested_work(subscription, outer, savepoints, self.write)
                    outcome = await self._run_nested(claimed, subscription, work)
                    if _transaction(connection) is not transaction:
                        raise BatchEnded(claimed.handler)
                    wrote = database_time.statements > statements
                    if isinstance(outcome, Exception) and wrote and not savepoints:
                        raise _FailedAfterWriting(index, outcome)
                if _waited_for_a_lock(outcome):
                    break  # not run: it runs alone, once this batch's locks are released
                outcomes.append(outcome)
            if postgres:  # completing, and the commit (NOTIFY's lock), wait as any statement
                await connection.execute(_USUAL_LOCK_TIMEOUT)
            done = [c.id for c, outcome in zip(batch, outcomes, strict=False) if outcome is True]
            now, owner = self.dispatcher.clock.now(), self.dispatcher.owner
            if done and await self.backend.queue.complete(done, owner, now, outer) != len(done):
                raise LeaseLost(done[0])  # which one is not known: each runs alone again
            await outer.commit()
        finally:
            if database_time is not None:
                database_time.close()
            await outer.rollback()  # (nothing left to undo once committed)
        return outcomes

    async def _run_nested(
        self, claimed: Claimed, subscription: Subscription, work: Work
    ) -> bool | Exception:
        """Run one delivery in ``work``, nested in the batch's: True, or what it raised."""
        try:
            event = claimed.event(subscription.event_type)
            try:
                await self._call(subscription, event, claimed.context(), work)
                await work.commit()
            finally:
                await work.close()
        except Exception as error:
            return error
        return True

    def _nested_work(
        self,
        subscription: Subscription,
        outer: UnitOfWork,
        savepoint: bool,
        write: Callable[
            [UnitOfWork, Sequence[tuple[Event, str | None, str | None]]], Awaitable[bool]
        ],
    ) -> Work:
        """A unit of work for one delivery of a batch, in ``outer``'s transaction."""
        scope = self.app.container.scope()
        uow = outer.nested(savepoint=savepoint)
        scope.state["uow"] = uow
        return Work(scope, uow, subscription.module, write, self.wake)

    async def _call(
        self, subscription: Subscription, event: Event, context: DeliveryContext, work: Work
    ) -> None:
        """Call the handler with ``event`` and its parameters, resolved in ``work``."""
        kwargs: dict[str, Any] = {}
        for parameter in self.app.handler_parameters(subscription):
            if parameter.key is DeliveryContext:
                kwargs[parameter.name] = context
            else:
                kwargs[parameter.name] = await work.get(parameter.key)
        await self._intercepted(context, functools.partial(subscription.handler, event, **kwargs))

    async def _intercepted(
        self, context: DeliveryContext, call: Callable[[], Awaitable[None]]
    ) -> None:
        """Run ``call`` inside the app's delivery interceptors, the first one outermost.

        They run inside the handler's unit of work: what they raise fails the delivery
        like the handler's own exception (retried, or dead at the last try).
        """
        proceed = call
        for interceptor in reversed(self.app.delivery_interceptors):
            proceed = functools.partial(interceptor, context, proceed)
        await proceed()

    def _uses_services(self, subscription: Subscription) -> bool:
        """Whether the handler asks for services (else it runs without a unit of work)."""
        return any(p.key is not DeliveryContext for p in self.app.handler_parameters(subscription))
