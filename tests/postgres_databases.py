"""Empty PostgreSQL databases for the tests, made once per pytest process and emptied again
after each test instead of being created and dropped (a ``CREATE DATABASE`` copies a
template and a ``DROP DATABASE`` waits for a checkpoint: about half a second together, on a
busy server more, for each of hundreds of tests).

Emptying a database ends its other connections (a test's leftover pool, a killed process's
session and its advisory locks), drops every schema but PostgreSQL's own (with their tables,
sequences, types and functions) and makes ``public`` again as a new database has it. A
database that cannot be emptied is dropped, and the next test gets a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Iterator

from sqlalchemy import URL, text
from sqlalchemy.ext.asyncio import create_async_engine

END_OTHER_CONNECTIONS = """
SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
"""
EMPTY = r"""
DO $$
DECLARE
    name text;
BEGIN
    FOR name IN
        SELECT nspname FROM pg_namespace
        WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
    LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', name);
    END LOOP;
    CREATE SCHEMA public AUTHORIZATION pg_database_owner;
    GRANT USAGE ON SCHEMA public TO PUBLIC;
    COMMENT ON SCHEMA public IS 'standard public schema';
END
$$
"""
"""Every schema dropped, then ``public`` as PostgreSQL 15 and later make it."""


async def execute(url: str, *statements: str) -> None:
    """Run ``statements`` in turn on one autocommit connection to ``url``."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


class PostgresDatabases:
    """This process's test databases on the server of ``admin_url``: each taken by one
    caller at a time, emptied when it gives it back."""

    def __init__(self, admin_url: URL, prefix: str) -> None:
        self.admin_url = admin_url.set(drivername="postgresql+asyncpg")
        self.prefix = prefix
        self.free: list[str] = []
        self.made: list[str] = []
        self._lock = threading.Lock()  # callers in threads (units started side by side)

    def _url(self, name: str | None = None) -> str:
        url = self.admin_url if name is None else self.admin_url.set(database=name)
        return url.render_as_string(hide_password=False)

    @contextlib.contextmanager
    def empty_database(self) -> Iterator[str]:
        """The URL of an empty database, for the caller alone until it leaves."""
        with self._lock:
            name = self.free.pop() if self.free else None
        if name is None:
            name = f"{self.prefix}_{uuid.uuid4().hex[:12]}"
            asyncio.run(execute(self._url(), f'CREATE DATABASE "{name}"'))
            with self._lock:
                self.made.append(name)
        try:
            yield self._url(name)
        finally:
            try:
                asyncio.run(execute(self._url(name), END_OTHER_CONNECTIONS, EMPTY))
            except Exception:
                self._drop(name)
                raise
            with self._lock:
                self.free.append(name)

    def _drop(self, name: str) -> None:
        with self._lock:
            self.made.remove(name)
        asyncio.run(execute(self._url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def drop_all(self) -> None:
        """Drop every database made."""
        for name in list(self.made):
            self._drop(name)
        self.free.clear()


_KINDS: dict[tuple[str, str], PostgresDatabases] = {}


def of(admin_url: URL, prefix: str) -> PostgresDatabases:
    """This process's databases named ``prefix_...`` on the server of ``admin_url``."""
    key = (admin_url.render_as_string(hide_password=False), prefix)
    return _KINDS.setdefault(key, PostgresDatabases(admin_url, prefix))


def drop_all() -> None:
    """Drop every database this process made (at the end of its session)."""
    for databases in _KINDS.values():
        databases.drop_all()
