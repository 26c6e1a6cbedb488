"""What a database error says, the same way on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError

UNIQUE_VIOLATION = "23505"
"""PostgreSQL's SQLSTATE for a unique or primary-key violation."""

_SQLITE_UNIQUE = frozenset({sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY})


def sqlstate(error: DBAPIError) -> str | None:
    """The SQLSTATE of a PostgreSQL error (``'23505'``); None for SQLite and other errors.

    asyncpg keeps it as ``sqlstate``, SQLAlchemy's adapter of asyncpg errors as ``pgcode``.
    """
    code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return code if isinstance(code, str) else None


def is_unique_violation(error: DBAPIError) -> bool:
    """Whether the database refused a row because a unique or primary key is taken.

    ``except IntegrityError as error: if is_unique_violation(error): raise Duplicate(...)``:
    the constraint judges, so two requests adding the same key at once cannot both pass.
    """
    return (
        sqlstate(error) == UNIQUE_VIOLATION
        or getattr(error.orig, "sqlite_errorcode", None) in _SQLITE_UNIQUE
    )
