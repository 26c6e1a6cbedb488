"""PostgreSQL ``LISTEN/NOTIFY`` as a hint that the outbox has new deliveries.

A trigger on the outbox table (created when the app starts) sends ``NOTIFY dolmen_outbox``
once per statement that inserts deliveries; PostgreSQL delivers it when the transaction
commits and drops it on a rollback. So every process of the app wakes its dispatcher at once
instead of at its next poll, and the publishing transaction pays no extra round trip for
it. It is only a hint: a missed notification costs one poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dolmen.persistence import schema_change

CHANNEL = "dolmen_outbox"
logger = logging.getLogger("dolmen.events")


async def ensure_notify_trigger(engine: AsyncEngine, table: Table) -> None:
    """Give ``table`` (on PostgreSQL) a trigger that sends NOTIFY on every inserting statement.

    Run at each start; a table that has it already is left as it is. Processes starting
    at once take turns on the lock of Dolmen's schema changes (see
    :func:`~dolmen.persistence.schema_change`).
    """
    name = f"{table.name}_notify"
    async with schema_change(engine) as connection:
        found = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE t.tgname = :name AND c.relname = :table AND n.nspname = :schema"
            ),
            {"name": name, "table": table.name, "schema": table.schema or "public"},
        )
        if found:
            return
        preparer = connection.dialect.identifier_preparer
        schema = f"{preparer.quote_schema(table.schema)}." if table.schema else ""
        function = f"{schema}{preparer.quote(name)}"
        await connection.exec_driver_sql(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql "
            f"AS $$ BEGIN NOTIFY {CHANNEL}; RETURN NULL; END $$"
        )
        await connection.exec_driver_sql(
            f"CREATE TRIGGER {preparer.quote(name)} AFTER INSERT ON "
            f"{preparer.format_table(table)} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


class Listener:
    """Holds one connection that listens on the channel and calls ``wake`` on each hint.

    ``listening(True)`` is called once it listens, ``listening(False)`` when its connection
    is lost (a database restart, say); it then listens again as soon as it can, trying
    after 1, 2, 4 ... seconds (30 at most).
    """

    def __init__(
        self, engine: AsyncEngine, wake: Callable[[], None], listening: Callable[[bool], None]
    ) -> None:
        self._engine = engine
        self._wake = wake
        self._listening = listening
        self._connection: AsyncConnection | None = None
        self._driver: Any = None
        self._again: asyncio.Task[None] | None = None

    async def start(self) -> bool:
        """Start listening, and say whether it does; on failure, log it and rely on polling."""
        try:
            await self._listen()
        except Exception:
            logger.warning("cannot LISTEN on %s; the dispatcher will poll", CHANNEL, exc_info=True)
            await self._close()
            return False
        return True

    async def _listen(self) -> None:
        self._connection = await self._engine.connect()
        raw = await self._connection.get_raw_connection()
        self._driver = raw.driver_connection
        await self._driver.add_listener(CHANNEL, self._on_notify)
        self._driver.add_termination_listener(self._on_terminated)
        self._listening(True)

    def _on_notify(self, *_: object) -> None:
        self._wake()

    def _on_terminated(self, *_: object) -> None:
        logger.warning("the connection listening on %s closed; the dispatcher polls", CHANNEL)
        self._listening(False)
        self._again = asyncio.get_running_loop().create_task(self._listen_again())

    async def _listen_again(self) -> None:
        delay = 1.0
        while True:
            await self._close(lost=True)
            await asyncio.sleep(delay)
            try:
                await self._listen()
            except Exception as error:
                logger.info("cannot LISTEN on %s yet (%s); trying again", CHANNEL, error)
                delay = min(delay * 2, 30.0)
            else:
                logger.info("listening on %s again", CHANNEL)
                return

    async def stop(self) -> None:
        """Stop listening and give the connection back."""
        if self._again is not None:
            self._again.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._again
            self._again = None
        await self._close()

    async def _close(self, *, lost: bool = False) -> None:
        """Give the connection back; a ``lost`` one is discarded, never back into the pool.

        (Returned, a connection the server closed would be handed to the next user of the
        pool, the dispatcher's claim, say, which would fail on it.)
        """
        if self._driver is not None:
            with contextlib.suppress(Exception):
                self._driver.remove_termination_listener(self._on_terminated)
                await self._driver.remove_listener(CHANNEL, self._on_notify)
            self._driver = None
        if self._connection is not None:
            with contextlib.suppress(Exception):
                if lost:
                    await self._connection.invalidate()
                await self._connection.close()
            self._connection = None
