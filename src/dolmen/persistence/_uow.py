"""The unit of work: one transaction around a request, a command or an event handler."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from dolmen.persistence._database import WRITE_OPTION, Database
from dolmen.persistence._guard import MODULE_KEY, MODULES_KEY, ModuleSession
from dolmen.persistence.exceptions import UnitOfWorkClosedError

logger = logging.getLogger(__name__)


class UnitOfWork:
    """One database transaction shared by the sessions of every module involved.

    The connection is opened lazily, on the first session asked for, so work
    that never touches the database costs nothing. Each module gets its own
    :class:`~sqlalchemy.ext.asyncio.AsyncSession`, bound to the shared
    transaction and refusing other modules' tables. :meth:`commit` flushes every
    session and commits once; :meth:`rollback` undoes everything.
    """

    def __init__(self, database: Database, *, write: bool = True) -> None:
        self._database = database
        self._write = write
        self._modules: Collection[str] = frozenset(m.module for m in database.modules)
        self._connection: AsyncConnection | None = None
        self._sessions: dict[str, AsyncSession] = {}
        self._before_commit: list[Callable[[], Awaitable[None]]] = []
        self._after_commit: list[Callable[[], Any]] = []
        self._closed = False

    @property
    def touched_database(self) -> bool:
        """Whether a connection was opened."""
        return self._connection is not None

    async def connection(self) -> AsyncConnection:
        """The unit of work's connection, in its transaction (opened on first use)."""
        if self._closed:
            raise UnitOfWorkClosedError("this unit of work is finished; open a new one")
        if self._connection is None:
            connection = await self._database.engine.connect()
            if self._write:
                await connection.execution_options(**{WRITE_OPTION: True})
            await connection.begin()
            self._connection = connection
        return self._connection

    async def session(self, module: str) -> AsyncSession:
        """The session of ``module`` in this unit of work."""
        session = self._sessions.get(module)
        if session is None:
            session = AsyncSession(
                bind=await self.connection(),
                sync_session_class=ModuleSession,
                expire_on_commit=False,
                join_transaction_mode="rollback_only",
                info={MODULE_KEY: module, MODULES_KEY: self._modules},
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
        """Flush every module's session and commit the transaction."""
        for callback in self._before_commit:
            await callback()
        for session in self._sessions.values():
            await session.flush()
        if self._connection is not None:
            await self._connection.commit()
        await self._finish()
        for callback in self._after_commit:
            callback()

    async def rollback(self) -> None:
        """Undo everything done in this unit of work."""
        if self._connection is not None and not self._closed:
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
