"""The outbox's hot statements on SQLite, each transaction in one trip to the driver's thread.

A claim (record the completed deliveries, take the due ones, commit) holds SQLite's one
write lock, and every publisher of every process waits for it. Through SQLAlchemy it is
three trips to the driver's thread, and between them the event loop runs other tasks while
the lock is held. Here the same statements, compiled once by SQLAlchemy from the store's
own (so there is one definition of each), run in the thread one after the other with the
commit: the lock is held for the time SQLite needs, plus one wake-up.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete, func, insert, literal_column, select, update
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import Compiled

from dolmen.events._envelope import Envelope
from dolmen.events._store import DONE, RUNNING, Claimed
from dolmen.persistence import Database
from dolmen.persistence._sqlite_driver import Connection as DriverConnection

T = TypeVar("T")


@functools.cache
def _statements() -> dict[str, Compiled]:
    """The statements, compiled for SQLite with named parameters (once, on first use)."""
    from dolmen.events._sql_store import _CLAIM_SQLITE, OUTBOX_MODULE, deliveries

    c = deliveries.c
    # The ids arrive as one JSON array: no statement per batch size, no IN to build.
    ids: Any = select(literal_column("value")).select_from(func.json_each(bindparam("ids")))
    held = (c.id.in_(ids), c.lease_owner == bindparam("owner"), c.status == RUNNING)
    dialect = SQLiteDialect_pysqlite(paramstyle="named")
    dialect.default_schema_name = "main"
    statements = {
        "append": insert(deliveries),
        "claim": _CLAIM_SQLITE,
        "complete_delete": delete(deliveries).where(*held),
        "complete_keep": update(deliveries)
        .where(*held)
        .values(status=DONE, completed_at=bindparam("now"), lease_owner=None, lease_until=None),
    }
    return {
        name: statement.compile(
            dialect=dialect,
            schema_translate_map={OUTBOX_MODULE: None},
            render_schema_translate=True,
            column_keys=APPENDED if name == "append" else None,
        )
        for name, statement in statements.items()
    }


APPENDED = [
    "handler", "ordering_key", "status", "attempts", "max_attempts", "available_at",
    "created_at", "event_id", "event_type", "event_version", "source", "subject",
    "published_at", "data", "traceparent",
]  # fmt: skip
"""The columns a publication writes (the store's append gives each row these keys)."""


async def append_at_commit(connection: AsyncConnection, rows: list[dict[str, Any]]) -> bool:
    """Have ``rows`` inserted with the transaction's COMMIT, in its trip.

    False when the driver cannot: the caller inserts them itself.
    """
    driver = (await connection.get_raw_connection()).driver_connection
    if not isinstance(driver, DriverConnection):
        return False
    if not connection.in_transaction():
        await connection.begin()  # the writers' turn (SQLAlchemy would begin on a statement)
    driver.execute_at_commit(_statements()["append"].string, rows)
    return True


def _run(connection: sqlite3.Connection, name: str, values: dict[str, Any]) -> sqlite3.Cursor:
    compiled = _statements()[name]
    return connection.execute(compiled.string, compiled.construct_params(values) or {})


async def one_trip(database: Database, work: Callable[[sqlite3.Connection], T]) -> T | None:
    """Run ``work`` in a writing transaction in one trip; None when the driver cannot."""
    async with database.write_engine.connect() as connection:
        await connection.begin()  # the writers' turn, and a BEGIN IMMEDIATE held back
        driver = (await connection.get_raw_connection()).driver_connection
        if not isinstance(driver, DriverConnection):
            await connection.rollback()
            return None
        result = await driver.run_in_transaction(work)
        await connection.commit()  # committed already: this gives the writers' turn back
        return result


def complete(ids: Sequence[int], owner: str, now: float, keep: bool) -> Callable[..., int]:
    """The work of recording ``ids`` as done (deleted, or kept with ``keep``): rows changed."""
    values = {"ids": json.dumps(list(ids)), "owner": owner, "now": now}
    name = "complete_keep" if keep else "complete_delete"

    def work(connection: sqlite3.Connection) -> int:
        return _run(connection, name, values).rowcount

    return work


def claim(
    values: dict[str, Any], completed: Sequence[int], owner: str, now: float, keep: bool
) -> Callable[[sqlite3.Connection], list[Claimed]]:
    """The work of a claim: record ``completed``, then take the due deliveries."""
    record = complete(completed, owner, now, keep) if completed else None

    def work(connection: sqlite3.Connection) -> list[Claimed]:
        if record is not None:
            record(connection)
        return [_claimed(row) for row in _run(connection, "claim", values).fetchall()]

    return work


def _claimed(row: tuple[Any, ...]) -> Claimed:
    """A row of the claim's RETURNING (the store's ``_CLAIMED`` columns, in order)."""
    (id_, handler, attempts, max_attempts, event_id, event_type, version, source, subject,
     published_at, data, traceparent) = row  # fmt: skip
    envelope = Envelope(
        event_id, event_type, version, source, float(published_at), data, subject, traceparent
    )
    return Claimed(id_, handler, attempts, max_attempts, envelope)
