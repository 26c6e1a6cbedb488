"""The outbox's hot statements on PostgreSQL, run on asyncpg's connection itself.

Appending a unit of work's events and claiming due deliveries run a thousand times a
second in a busy app; through SQLAlchemy each costs about ten times the driver's own CPU,
on the path from a publisher's commit to its handler. Here the same statements, compiled
once by SQLAlchemy from the store's own (one definition of each), run on a connection that
:meth:`Database.driver <dolmen.persistence.Database.driver>` lends: one round trip each, in a
transaction of its own, at the driver's cost.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from dolmen.events._outbox_table import (
    CLAIM_COMPLETING_POSTGRES,
    CLAIM_POSTGRES,
    claimed_from,
    deliveries,
)
from dolmen.events._records import Claimed


@functools.cache
def _dialect() -> PGDialect_asyncpg:
    return PGDialect_asyncpg()  # type: ignore[no-untyped-call]  # (SQLAlchemy's own, untyped)


_GIVEN = object()
"""In a statement's parameter order: a parameter the caller gives (not a constant)."""


class _Statement:
    """A statement compiled for asyncpg: its SQL, and its parameters in ``$n`` order."""

    __slots__ = ("_order", "sql")

    def __init__(self, statement: Any, column_keys: list[str] | None = None) -> None:
        compiled = statement.compile(dialect=_dialect(), column_keys=column_keys)
        self.sql: str = compiled.string
        binds = compiled.binds
        self._order = [
            (name, _GIVEN if binds[name].required else binds[name].value)
            for name in compiled.positiontup or ()
        ]

    def arguments(self, values: dict[str, Any]) -> list[Any]:
        """The positional arguments for ``values`` (and the statement's own constants)."""
        return [values[name] if value is _GIVEN else value for name, value in self._order]


@functools.cache
def _claims() -> dict[bool | None, _Statement]:
    """The claim (``None``), and with completions deleting (False) or keeping them (True)."""
    statements: dict[bool | None, _Statement] = {None: _Statement(CLAIM_POSTGRES)}
    for keep, statement in CLAIM_COMPLETING_POSTGRES.items():
        statements[keep] = _Statement(statement)
    return statements


@functools.cache
def _append(columns: tuple[str, ...]) -> _Statement:
    """The INSERT of outbox rows with these keys (the store's append gives them all the same)."""
    return _Statement(insert(deliveries).inline(), list(columns))


async def append(driver: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` in one transaction of their own (several: one atomic executemany)."""
    statement = _append(tuple(rows[0]))
    if len(rows) == 1:
        await driver.execute(statement.sql, *statement.arguments(rows[0]))
    else:
        await driver.executemany(statement.sql, [statement.arguments(row) for row in rows])


async def claim(
    driver: Any, values: dict[str, Any], completed: Sequence[int], keep: bool
) -> list[Claimed]:
    """Record ``completed`` and take the due deliveries: one statement, one round trip."""
    statement = _claims()[keep if completed else None]
    if completed:
        values["completed"] = list(completed)
    rows = await driver.fetch(statement.sql, *statement.arguments(values))
    return [claimed_from(row) for row in rows]


_CONNECTION_ENDED = ("08", "57P")
"""SQLSTATE prefixes of errors that end the connection (connection exception, shutdown): the
statement's commit may have happened before it."""


def refused(error: BaseException) -> bool:
    """Whether asyncpg says the statement did nothing.

    The server refused it (its error arrived instead of its commit), or asyncpg could not
    send a value. Running it again through SQLAlchemy then reports the error as the rest of Dolmen
    expects it (a 422 for a value the database cannot store, say), or succeeds. A lost
    connection is not a refusal: the statement may have committed.
    """
    import asyncpg  # PostgreSQL only: the dolmen[postgres] extra

    if isinstance(error, asyncpg.PostgresError):
        return not str(getattr(error, "sqlstate", "")).startswith(_CONNECTION_ENDED)
    # asyncpg's own check of a value (a text it cannot encode, an integer out of range):
    # an InterfaceError that is a ValueError, raised before anything is sent.
    return isinstance(error, asyncpg.InterfaceError) and isinstance(error, ValueError)
