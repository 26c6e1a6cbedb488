"""The unit of work: one transaction around a request, a command or an event handler."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from dolmen.persistence._database import Database
from dolmen.persistence._guard import MODULE_KEY, MODULES_KEY, READ_ONLY_KEY, ModuleSession
from dolmen.persistence.exceptions import UnitOfWorkClosedError

logger = logging.getLogger("dolmen.persistence")


class UnitOfWork:
    """The database work of one request, command or event handler.

    A **writing** unit of work (the default; HTTP POST, PUT, PATCH, DELETE, commands,
    event handlers) is one transaction shared by the sessions of every module involved:
    :meth:`commit` flushes every session and commits once, :meth:`rollback` undoes
    everything. On SQLite it takes the write lock up front (``BEGIN IMMEDIATE``).

    A **read-only** unit of work (HTTP GET, HEAD, OPTIONS) gives each module a session
    of its own that connects on its first statement and refuses to change data; it
    costs what a plain ``AsyncSession`` costs. On SQLite its statements run without
    ``BEGIN``, each reading the latest committed state.

    Either way each module's session refuses other modules' tables, and nothing
    connects until a session runs a statement.

    :meth:`nested` opens a unit of work inside a writing one's transaction, in a
    ``SAVEPOINT`` of its own: several units of work in one transaction, each undone alone.
    """

    def __init__(self, database: Database, *, write: bool = True) -> None:
        self._database = database
        self._write = write
        self._parent: UnitOfWork | None = None
        self._savepoint: str | None = None
        """A nested unit of work's savepoint, once begun."""
        self._nested = 0
        """How many nested units of work have begun a savepoint in this one."""
        self._joined = False
        """A nested unit of work without a savepoint of its own (see :meth:`nested`)."""
        self._connection: AsyncConnection | None = None
        self._sessions: dict[str, AsyncSession] = {}
        self._before_commit: list[Callable[[], Awaitable[None]]] = []
        self._after_commit: list[Callable[[], Any]] = []
        self._closed = False

    @property
    def write(self) -> bool:
        """Whether this unit of work may change data."""
        return self._write

    @property
    def is_nested(self) -> bool:
        """Whether this unit of work runs in a savepoint of another one's transaction."""
        return self._parent is not None

    def nested(self, *, savepoint: bool = True) -> UnitOfWork:
        """A unit of work in this one's transaction, in a ``SAVEPOINT`` begun on its first use.

        Its :meth:`commit` flushes its sessions (this unit of work's commit then makes it
        durable, with everything else), its :meth:`rollback` rolls back to its savepoint,
        undoing what it did and nothing else; its ``after_commit`` callbacks run after this
        unit of work commits. Nested units of work run one after the other, never at once.
        Only a writing unit of work has nested ones.

        With ``savepoint=False`` it joins this transaction without a savepoint (a round trip
        saved): its :meth:`rollback` then undoes nothing, and whoever nested it must roll
        back this whole unit of work when it fails.
        """
        if not self._write:
            raise TypeError("a read-only unit of work has no transaction to nest in")
        child = UnitOfWork(self._database)
        child._parent = self
        child._joined = not savepoint
        return child

    async def _begin_savepoint(self, child: UnitOfWork) -> AsyncConnection:
        """Begin ``child``'s savepoint in this unit of work's transaction; the connection.

        Savepoints are not released when their unit of work commits (a round trip saved
        each): they end with this transaction. (On SQLite, Dolmen's driver sends them with
        the next statement: no round trip at all.)
        """
        connection = await self.connection()
        self._nested += 1
        child._savepoint = f"dolmen_nested_{self._nested}"
        await connection.exec_driver_sql(f"SAVEPOINT {child._savepoint}")
        return connection

    @property
    def empty(self) -> bool:
        """Whether committing now would run nothing in the database: nothing is in its transaction.

        True for a writing unit of work that is not nested, has opened no connection (so has
        no session and ran no statement) and has no :meth:`before_commit` callback. A single
        statement run now in a transaction of its own is then all this unit of work's
        transaction would hold (the outbox writes the events of a unit of work that wrote
        nothing else that way: on PostgreSQL one round trip instead of BEGIN, INSERT, COMMIT).
        """
        return (
            self._write
            and self._parent is None
            and self._connection is None
            and not self._before_commit
            and not self._closed
        )

    @property
    def touched_database(self) -> bool:
        """Whether a connection was opened (or a session made that will open one)."""
        return self._connection is not None or bool(self._sessions)

    async def connection(self) -> AsyncConnection:
        """The unit of work's connection, in its transaction when writing (opened on first use)."""
        if self._closed:
            raise UnitOfWorkClosedError("this unit of work is finished; open a new one")
        if self._connection is None and self._parent is not None:
            if self._joined:
                connection = await self._parent.connection()
                if not connection.in_transaction():
                    await connection.begin()  # (its sessions join it, never end it)
                self._connection = connection
            else:
                self._connection = await self._parent._begin_savepoint(self)
        if self._connection is None:
            # A writing unit of work begins its transaction on the first statement, not
            # here: on SQLite that is when it takes the write lock (BEGIN IMMEDIATE), so a
            # handler waiting on a slow call before writing does not hold up other writers.
            engine = self._database.write_engine if self._write else self._database.engine
            self._connection = await engine.connect()
        return self._connection

    async def session(self, module: str) -> AsyncSession:
        """The session of ``module`` in this unit of work."""
        session = self._sessions.get(module)
        if session is not None:
            return session
        if self._closed:
            raise UnitOfWorkClosedError("this unit of work is finished; open a new one")
        info: dict[str, Any] = {MODULE_KEY: module, MODULES_KEY: self._database.module_names}
        if self._write:
            session = AsyncSession(
                bind=await self.connection(),
                sync_session_class=ModuleSession,
                expire_on_commit=False,
                join_transaction_mode="rollback_only",
                info=info,
            )
        else:
            info[READ_ONLY_KEY] = True
            session = AsyncSession(
                bind=self._database.engine,
                sync_session_class=ModuleSession,
                expire_on_commit=False,
                info=info,
            )
        self._sessions[module] = session
        return session

    def before_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` inside the transaction, just before it commits."""
        self._before_commit.append(callback)

    def after_commit(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` once the transaction has committed (never after a rollback)."""
        self._after_commit.append(callback)

    async def commit(self) -> None:
        """Flush every module's session and commit (a read-only unit of work just ends).

        A nested unit of work commits nothing itself; its ``after_commit`` callbacks wait for
        the commit of the unit of work it is nested in.
        """
        for callback in self._before_commit:
            await callback()
        if self._write:
            for session in self._sessions.values():
                await session.flush()
            if self._parent is None and self._connection is not None:
                await self._connection.commit()
        await self._finish()
        for callback in self._after_commit:
            if self._parent is not None:
                self._parent.after_commit(callback)
            else:
                callback()

    async def rollback(self) -> None:
        """Undo everything done in this unit of work (a nested one: only what it did)."""
        if self._write and self._connection is not None and not self._closed:
            if self._savepoint is not None:
                await self._connection.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {self._savepoint}")
            elif self._parent is None:
                await self._connection.rollback()
        await self._finish()

    async def _finish(self) -> None:
        if self._closed:
            return
        self._closed = True
        for session in self._sessions.values():
            await session.close()
        if self._connection is not None and self._parent is None:
            await self._connection.close()
