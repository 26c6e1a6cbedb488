"""PostgreSQL ``LISTEN/NOTIFY`` as a hint that the outbox has new deliveries.

A publishing transaction sends ``NOTIFY dolmen_outbox`` (delivered when it commits), so
every process of the app wakes its dispatcher at once instead of at its next poll. It is
only a hint: a missed notification (a dropped connection) costs one poll interval.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

CHANNEL = "dolmen_outbox"
NOTIFY = text(f"NOTIFY {CHANNEL}")
logger = logging.getLogger("dolmen.events")


async def notify(connection: AsyncConnection) -> None:
    """Queue the hint in ``connection``'s transaction (sent on commit, dropped on rollback)."""
    await connection.execute(NOTIFY)


class Listener:
    """Holds one connection that listens on the channel and calls ``wake`` on each hint."""

    def __init__(self, engine: AsyncEngine, wake: Callable[[], None]) -> None:
        self._engine = engine
        self._wake = wake
        self._connection: AsyncConnection | None = None
        self._driver: Any = None

    async def start(self) -> None:
        """Start listening; on failure, log it and rely on polling."""
        try:
            self._connection = await self._engine.connect()
            raw = await self._connection.get_raw_connection()
            self._driver = raw.driver_connection
            await self._driver.add_listener(CHANNEL, self._on_notify)
        except Exception:
            logger.warning("cannot LISTEN on %s; the dispatcher will poll", CHANNEL, exc_info=True)
            await self.stop()

    def _on_notify(self, *_: object) -> None:
        self._wake()

    async def stop(self) -> None:
        """Stop listening and give the connection back."""
        if self._driver is not None:
            with contextlib.suppress(Exception):
                await self._driver.remove_listener(CHANNEL, self._on_notify)
            self._driver = None
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None
