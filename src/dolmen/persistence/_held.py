"""Connections of the engine's pool kept out of it, for statements run on the driver itself.

Through SQLAlchemy a statement costs about ten times its driver's own CPU (a pool check-out,
the execution context, the result, the check-in): for the outbox's hot statements, run a
thousand times a second, that is most of a process's work. :class:`HeldConnections` lends
the driver connection (asyncpg's) of a pooled connection and keeps it checked out for the
next statement, so a statement costs what the driver costs.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class HeldConnections:
    """Lends driver connections of ``engine``'s pool, keeping up to ``keep`` between uses.

    A lent connection is outside any transaction: each statement run on it commits by itself
    (asyncpg's autocommit). One that fails or is cancelled mid-statement is discarded, never
    lent again; one whose server went away (a restart) is replaced before it is lent. The
    others go back to the pool when more than ``keep`` are idle, and at :meth:`close`.
    """

    def __init__(self, engine: AsyncEngine, keep: int = 1) -> None:
        self._engine = engine
        self._keep = keep
        self._idle: list[tuple[AsyncConnection, Any]] = []
        self._closed = False

    @contextlib.asynccontextmanager
    async def driver(self) -> AsyncIterator[Any]:
        """A driver connection for a few statements; given back when the block ends."""
        connection, driver = await self._take()
        try:
            yield driver
        except BaseException:
            await _discard(connection)  # perhaps mid-statement, or its connection lost
            raise
        if self._closed or len(self._idle) >= self._keep:
            await connection.close()
        else:
            self._idle.append((connection, driver))

    async def _take(self) -> tuple[AsyncConnection, Any]:
        while self._idle:
            connection, driver = self._idle.pop()
            if not driver.is_closed():
                return connection, driver
            await _discard(connection)  # the server closed it while it waited here
        if self._closed:
            raise RuntimeError("the database is closed; start the application first")
        connection = await self._engine.connect()
        try:
            raw = await connection.get_raw_connection()
        except BaseException:
            await connection.close()
            raise
        return connection, raw.driver_connection

    async def close(self) -> None:
        """Give the idle connections back to the pool; those lent go back when returned."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            await connection.close()


async def _discard(connection: AsyncConnection) -> None:
    """Close ``connection`` and its driver connection, which the pool does not take back."""
    with contextlib.suppress(Exception):
        await connection.invalidate()
    with contextlib.suppress(Exception):
        await connection.close()
