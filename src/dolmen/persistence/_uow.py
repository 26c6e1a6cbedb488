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
    """

    def __init__(self, database: Database, *, write: bool = True) -> None:
        self._database = database
        self._write = write
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
    def touched_database(self) -> bool:
        """Whether a connection was opened (or a session made that will open one)."""
        return self._connection is not None or bool(self._sessions)

    async def connection(self) -> AsyncConnection:
        """The unit of work's connection, in its transaction when writing (opened on first use)."""
        if self._closed:
            raise UnitOfWorkClosedError("this unit of work is finished; open a new one")
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
        """Flush every module's session and commit (a read-only unit of work just ends)."""
        for callback in self._before_commit:
            await callback()
        if self._write:
            for session in self._sessions.values():
                await session.flush()
            if self._connection is not None:
                await self._connection.commit()
        await self._finish()
        for callback in self._after_commit:
            callback()

    async def rollback(self) -> None:
        """Undo everything done in this unit of work."""
        if self._write and self._connection is not None and not self._closed:
            await self._connection.rollback()
        await self._finish()

    async def _finish(self) -> None:
        if self._closed:
            return
        self._closed = True
        for session in self._sessions.values():
            await session.close()
        if self._connection is not None:
            await self._connection.close()
