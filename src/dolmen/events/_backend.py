"""What an app's event runtime runs on: an outbox, its delivery queue, and wake-ups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dolmen.events._memory_store import InMemoryDeliveryStore
from dolmen.events._outbox_table import deliveries
from dolmen.events._sql_store import SqlDeliveryStore
from dolmen.events._wakeups import LocalWakeup, NoWakeup, PostgresNotify, SocketWakeup

if TYPE_CHECKING:
    from dolmen.events._ports import DeliveryQueue, Outbox, Wakeup
    from dolmen.events._settings import EventSettings
    from dolmen.persistence import Database


@dataclass(frozen=True, slots=True)
class EventBackend:
    """The ports an app's events run on: where they are written, claimed, and hinted.

    :meth:`sql` (the default of every app) keeps them in the app's database;
    :meth:`in_memory` in this process, for tests: ``App(..., event_backend=
    EventBackend.in_memory())``. Any object implementing the ports can be given instead.
    """

    outbox: Outbox
    queue: DeliveryQueue
    wakeup: Wakeup

    @classmethod
    def sql(cls, database: Database, settings: EventSettings | None = None) -> EventBackend:
        """The outbox tables of ``database``, woken by NOTIFY or by wake sockets.

        PostgreSQL's ``LISTEN/NOTIFY``; on a SQLite file Dolmen's wake sockets beside it;
        on a SQLite database in memory (one process) nothing but the process's own commits.
        ``settings`` say whether completed deliveries are kept (``keep_completed_seconds``).
        """
        keep = settings is not None and settings.keep_completed_seconds > 0
        store = SqlDeliveryStore(database, keep_completed=keep)
        wakeup: Wakeup
        if not database.is_sqlite:
            wakeup = PostgresNotify(database, deliveries)
        elif database.sqlite_file is not None:
            wakeup = SocketWakeup(database.sqlite_file)
        else:
            wakeup = NoWakeup()
        return cls(store, store, wakeup)

    @classmethod
    def in_memory(cls, store: InMemoryDeliveryStore | None = None) -> EventBackend:
        """An outbox in this process's memory (``store``, or a new one), for tests.

        Apps given backends on the same ``store`` share it, as processes share a database:
        each claims the deliveries of its own handlers, and their commits wake each other.
        """
        store = store if store is not None else InMemoryDeliveryStore()
        return cls(store, store, LocalWakeup(store.hints))
