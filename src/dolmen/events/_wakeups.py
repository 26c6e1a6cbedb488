"""The :class:`~dolmen.events.Wakeup` implementations: NOTIFY, wake sockets, in memory, none."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import Table

from dolmen.events._notify import Listener, ensure_notify_trigger
from dolmen.events._sqlite_wake import WakeSockets

if TYPE_CHECKING:
    from dolmen.persistence import Database


class PostgresNotify:
    """PostgreSQL ``LISTEN/NOTIFY``: the outbox's trigger notifies, each process listens.

    Committing deliveries needs no call: the trigger on ``table`` sends the NOTIFY (see
    :mod:`dolmen.events._notify`), so :meth:`notify` does nothing.
    """

    def __init__(self, database: Database, table: Table) -> None:
        self._database = database
        self._table = table
        self._listener: Listener | None = None

    async def open(self) -> None:
        """Give the outbox its NOTIFY trigger if it lacks it."""
        await ensure_notify_trigger(self._database.engine, self._table)

    async def listen(self, hint: Callable[[], None], listening: Callable[[bool], None]) -> None:
        """Listen on one connection of its own (and again after it is lost)."""
        if self._listener is None:
            self._listener = Listener(self._database.engine, hint, listening)
            await self._listener.start()

    def notify(self) -> None:
        """Nothing: the trigger notified with the commit."""

    async def close(self) -> None:
        """Stop listening and give the connection back."""
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None


class SocketWakeup:
    """Dolmen's wake sockets beside a SQLite file (see :mod:`dolmen.events._sqlite_wake`)."""

    def __init__(self, database_path: str) -> None:
        self._sockets = WakeSockets(database_path)

    async def open(self) -> None:
        """Nothing to prepare."""

    async def listen(self, hint: Callable[[], None], listening: Callable[[bool], None]) -> None:
        """Listen on a socket of this process; says whether it could."""
        listening(self._sockets.listen(hint))

    def notify(self) -> None:
        """Send a byte to the socket of every other listening process."""
        self._sockets.notify()

    async def close(self) -> None:
        """Stop listening and sending."""
        self._sockets.close()


class LocalWakeup:
    """Wake-ups between the apps of one process that share an in-memory outbox."""

    def __init__(self, hints: set[Callable[[], None]]) -> None:
        self._hints = hints
        self._mine: Callable[[], None] | None = None

    async def open(self) -> None:
        """Nothing to prepare."""

    async def listen(self, hint: Callable[[], None], listening: Callable[[bool], None]) -> None:
        """Every commit to the outbox reaches ``hint``."""
        self._mine = hint
        self._hints.add(hint)
        listening(True)

    def notify(self) -> None:
        """Hint every app listening on the outbox."""
        for hint in list(self._hints):
            hint()

    async def close(self) -> None:
        """Stop listening."""
        if self._mine is not None:
            self._hints.discard(self._mine)
            self._mine = None


class NoWakeup:
    """No hints between processes: the dispatchers find each other's events by polling.

    (A SQLite database in memory has one process, whose own commits wake its dispatcher.)
    """

    async def open(self) -> None:
        """Nothing to prepare."""

    async def listen(self, hint: Callable[[], None], listening: Callable[[bool], None]) -> None:
        """Nothing to listen to."""

    def notify(self) -> None:
        """Nobody to tell."""

    async def close(self) -> None:
        """Nothing to close."""
