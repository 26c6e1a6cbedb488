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

from sqlalchemy import bindparam, func, insert, literal_column, select
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import Compiled

from dolmen.events._envelope import Envelope
from dolmen.events._outbox_table import (
    CLAIM_SQLITE,
    OUTBOX_MODULE,
    claimed_from,
    completion,
    deliveries,
    delivery_rows,
    held,
    received,
    received_marks,
    unseen,
)
from dolmen.events._records import Claimed, NewDelivery
from dolmen.persistence import Database
from dolmen.persistence import SQLiteConnection as DriverConnection

T = TypeVar("T")


@functools.cache
def _dialect() -> SQLiteDialect_pysqlite:
    dialect = SQLiteDialect_pysqlite(paramstyle="named")
    dialect.default_schema_name = "main"
    return dialect


def _compile(statement: Any, column_keys: list[str] | None = None) -> Compiled:
    """``statement`` for SQLite with named parameters, the outbox's schema dropped."""
    return statement.compile(  # type: ignore[no-any-return]
        dialect=_dialect(),
        schema_translate_map={OUTBOX_MODULE: None},
        render_schema_translate=True,
        column_keys=column_keys,
    )


@functools.cache
def _statements() -> dict[str, Compiled]:
    """The claim and the completions, compiled once, on first use."""
    # The ids arrive as one JSON array: no statement per batch size, no IN to build.
    ids: Any = select(literal_column("value")).select_from(func.json_each(bindparam("ids")))
    events: Any = select(literal_column("value")).select_from(func.json_each(bindparam("events")))
    seen = select(received.c.event_id, received.c.handler).where(received.c.event_id.in_(events))
    return {
        "claim": _compile(CLAIM_SQLITE),
        "received": _compile(seen),
        "complete_delete": _compile(completion(held(ids), keep=False)),
        "complete_keep": _compile(completion(held(ids), keep=True)),
    }


@functools.cache
def _append(columns: tuple[str, ...]) -> str:
    """The INSERT of outbox rows with these keys (the store's append gives them all the same)."""
    return _compile(insert(deliveries), list(columns)).string


async def _driver(connection: AsyncConnection) -> DriverConnection:
    driver = (await connection.get_raw_connection()).driver_connection
    if not isinstance(driver, DriverConnection):
        raise TypeError(
            f"the SQLite outbox runs on the connections of dolmen.persistence.Database, not "
            f"{type(driver).__name__}; open the database with Database(url, ...).open()"
        )
    return driver


async def append_at_commit(connection: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Have ``rows`` inserted with the transaction's COMMIT, in its trip."""
    driver = await _driver(connection)
    if not connection.in_transaction():
        await connection.begin()  # the writers' turn (SQLAlchemy would begin on a statement)
    driver.execute_at_commit(_append(tuple(rows[0])), rows)


@functools.cache
def _mark_received() -> str:
    """The INSERT of ``dolmen__received`` rows (event id, handler, when)."""
    return _compile(insert(received), ["event_id", "handler", "received_at"]).string


def _run(connection: sqlite3.Connection, name: str, values: dict[str, Any]) -> sqlite3.Cursor:
    compiled = _statements()[name]
    return connection.execute(compiled.string, compiled.construct_params(values) or {})


async def one_trip(database: Database, work: Callable[[sqlite3.Connection], T], name: str) -> T:
    """Run ``work`` in a writing transaction, in one trip to the driver's thread, or none.

    ``name`` says which work it is: once that work ran fast, the driver runs it in this
    thread when the write lock is free (see ``Connection.run_in_transaction``).
    """
    async with database.write_engine.connect() as connection:
        await connection.begin()  # the writers' turn, and a BEGIN IMMEDIATE held back
        driver = await _driver(connection)
        result = await driver.run_in_transaction(work, name=f"dolmen.outbox.{name}")
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
        return [claimed_from(row) for row in _run(connection, "claim", values).fetchall()]

    return work


def receive(
    envelopes: Sequence[Envelope], new: Sequence[NewDelivery], now: float
) -> Callable[[sqlite3.Connection], int]:
    """The work of taking in ``new`` deliveries: those not received before (see Inbox.receive).

    The pairs (event id, handler) already in ``dolmen__received`` are skipped; the others are
    marked received and written, in the caller's transaction. Returns how many were written.
    """
    events = json.dumps(sorted({d.event_id for d in new}))

    def work(connection: sqlite3.Connection) -> int:
        seen = {(row[0], row[1]) for row in _run(connection, "received", {"events": events})}
        fresh = unseen(new, seen)
        if not fresh:
            return 0
        connection.executemany(_mark_received(), received_marks(fresh, now))
        rows = delivery_rows(envelopes, fresh)
        connection.executemany(_append(tuple(rows[0])), rows)
        return len(fresh)

    return work
