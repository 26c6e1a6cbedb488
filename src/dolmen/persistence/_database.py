"""The application's database: engine set-up, per-module schemas, readiness."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.schema import CreateSchema

from dolmen.config import mask_credentials
from dolmen.persistence import _sqlite, _sqlite_driver
from dolmen.persistence._held import HeldConnections
from dolmen.persistence._sqlite import (
    BUSY_TIMEOUT_MS,
    LOCK_FILE_SUFFIX,
    WRITE_OPTION,
    WriterQueue,
    configure_sqlite,
)
from dolmen.persistence._sqlite_checkpoint import Checkpointer
from dolmen.persistence._tables import ModuleTables
from dolmen.persistence.exceptions import DatabaseBusyError, DatabaseConfigurationError

try:
    import fcntl
except ImportError:  # pragma: no cover  # Windows: no flock(2)
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("dolmen.persistence")

SQLITE_POOL_SIZE = 20
SQLITE_POOL_OVERFLOW = 20
DDL_LOCK_KEY = 0x646F6C6D656E  # "dolmen" in ASCII
"""The key of the PostgreSQL advisory lock Dolmen's schema changes take (:func:`schema_change`)."""


def normalize_url(raw: str) -> URL:
    """Parse a database URL, choosing Dolmen's async driver when none is named.

    An error quotes the URL with its password masked.
    """
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError) as error:
        raise DatabaseConfigurationError(
            f"cannot parse database URL {mask_credentials(repr(raw))}: "
            f"{mask_credentials(str(error))}; expected e.g. "
            "'sqlite:///./var/app.db' or 'postgresql://user@host/dbname'"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite" and url.drivername == "sqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    elif backend == "postgresql" and url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+asyncpg")
    elif backend not in ("sqlite", "postgresql"):
        raise DatabaseConfigurationError(
            f"database URL {url.render_as_string(hide_password=True)!r} names {backend!r}; "
            "Dolmen supports SQLite and PostgreSQL"
        )
    return url


@contextlib.asynccontextmanager
async def schema_change(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction to create missing schemas, tables or triggers in, one process at a time.

    ``CREATE ... IF NOT EXISTS`` and ``create_all`` look, then create: two processes starting
    together on a fresh PostgreSQL database (the workers of one server, replicas) would both
    create, and one would fail on a unique key of the catalog. So on PostgreSQL the
    transaction first takes the advisory lock :data:`DDL_LOCK_KEY`, held until it ends; the
    next process then finds what the first created. On SQLite, give it the write engine
    (:attr:`Database.write_engine`): its transactions wait for the writers' turn across
    processes and begin with ``BEGIN IMMEDIATE``, which does the same.
    """
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            lock = text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=DDL_LOCK_KEY)
            await connection.execute(lock)
        yield connection


class Database:
    """Owns the async engine for the application's modules.

    SQLite runs in WAL mode with a busy timeout and foreign keys on; its tables
    are named ``<module>__<table>``. PostgreSQL gives each module its own schema.
    """

    def __init__(
        self,
        url: str,
        modules: Sequence[ModuleTables],
        *,
        pool_size: int | None = None,
        max_overflow: int | None = None,
    ) -> None:
        self.url = normalize_url(url)
        self.pool_size = pool_size
        self.max_overflow = max_overflow
        self.modules = list(modules)
        self.module_names = frozenset(m.module for m in self.modules)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self._engine: AsyncEngine | None = None
        self._write_engine: AsyncEngine | None = None
        self._writers: WriterQueue | None = None
        self._checkpointer: Checkpointer | None = None
        self._held: HeldConnections | None = None

    @property
    def engine(self) -> AsyncEngine:
        """The engine; available between :meth:`open` and :meth:`close`."""
        if self._engine is None:
            raise RuntimeError("the database is not open; start the application first")
        return self._engine

    @property
    def sqlite_file(self) -> str | None:
        """The SQLite database's file; None on PostgreSQL and for an in-memory database."""
        if self.is_sqlite and self._is_file():
            return self.url.database
        return None

    @property
    def write_engine(self) -> AsyncEngine:
        """The same engine and pool, for connections whose transaction will write."""
        if self._write_engine is None:
            raise RuntimeError("the database is not open; start the application first")
        return self._write_engine

    async def open(self, *, create_tables: bool = False) -> None:
        """Create the engine; with ``create_tables``, also the modules' missing tables.

        Creating tables is for development and tests (``[app] database_schema = "create"``):
        an app's schema otherwise comes from its migrations (:mod:`dolmen.migrations`).
        """
        self._prepare_sqlite_file()
        options: dict[str, Any] = {}
        if self.is_sqlite:
            options["execution_options"] = {
                "schema_translate_map": {m.module: None for m in self.modules}
            }
            options["pool_reset_on_return"] = None  # see configure_sqlite's "reset" listener
            options["async_creator"] = self._connect_sqlite
            # Opening a SQLite connection costs a driver thread and its pragmas: keep enough
            # of them for a busy worker instead of opening and closing overflow connections.
            if self._is_file():
                options["pool_size"] = SQLITE_POOL_SIZE
                options["max_overflow"] = SQLITE_POOL_OVERFLOW
        if self.pool_size is not None and (not self.is_sqlite or self._is_file()):
            options["pool_size"] = self.pool_size
        if self.max_overflow is not None and (not self.is_sqlite or self._is_file()):
            options["max_overflow"] = self.max_overflow
        try:
            engine = create_async_engine(self.url, **options)
        except (NoSuchModuleError, ModuleNotFoundError) as error:
            extra = "dolmen[postgres]" if not self.is_sqlite else "aiosqlite"
            raise DatabaseConfigurationError(
                f"the driver for {self.url.drivername!r} is not installed ({error}); "
                f"install it with: pip install '{extra}'"
            ) from None
        write_engine = engine.execution_options(**{WRITE_OPTION: True})
        if self.is_sqlite:
            lock_file = f"{self.url.database}{LOCK_FILE_SUFFIX}" if self._is_file() else None
            if lock_file is not None:
                try:
                    await self._use_wal(engine, lock_file)
                except BaseException:
                    await engine.dispose()
                    raise
            self._checkpointer = self._start_checkpointer(engine, lock_file)
            wrote = self._checkpointer.wrote if self._checkpointer is not None else None
            self._writers = WriterQueue(lock_file, wrote)
            configure_sqlite(
                engine, write_engine, self._writers, background_checkpoints=wrote is not None
            )
        self._engine = engine
        self._write_engine = write_engine
        if not self.is_sqlite:
            self._held = HeldConnections(engine, keep=1 if self._pool_capacity() >= 3 else 0)
        if create_tables:
            await self.create_tables()

    async def create_tables(self) -> None:
        """Create missing schemas and tables of every module, without migrations.

        For development and tests: tables that exist are left as they are, whatever their
        columns. Processes starting together on a fresh database take turns (see
        :func:`schema_change`).
        """
        async with schema_change(self.write_engine) as connection:
            for tables in self.modules:
                if not self.is_sqlite:
                    await connection.execute(CreateSchema(tables.module, if_not_exists=True))
                await connection.run_sync(tables.metadata.create_all)

    async def ping(self) -> None:
        """Run ``SELECT 1``; raises if the database cannot be reached."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    def driver(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """PostgreSQL: a connection of the pool as asyncpg's own, outside any transaction.

        ``async with database.driver() as connection: await connection.execute(sql, ...)``
        runs each statement in a transaction of its own at the driver's cost, without
        SQLAlchemy's (about ten times as much CPU for a short statement). The connection
        stays out of the pool for the next use (one is kept). Dolmen's outbox writes and
        claims events so; a statement the driver refuses is best run again through
        SQLAlchemy, whose errors the rest of an app understands. (With a pool of fewer than
        3 connections, none is kept.)
        """
        if self._held is None:
            kind = "a SQLite database" if self.is_sqlite else "a database that is not open"
            raise RuntimeError(f"driver() is for PostgreSQL's asyncpg connections, not {kind}")
        return self._held.driver()

    async def close(self) -> None:
        """Dispose of the engine and its pooled connections."""
        if self._held is not None:
            await self._held.close()
            self._held = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
            self._write_engine = None
        if self._writers is not None:
            self._writers.close()
            self._writers = None
        if self._checkpointer is not None:  # its last checkpoint, off the event loop
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None

    async def _use_wal(self, engine: AsyncEngine, lock_file: str) -> None:
        """Put the SQLite file in WAL mode (if it is not yet) with the writers' turn held.

        Each connection asks for WAL mode as it opens, which does nothing once the file is in
        it. But the processes of an app starting together on a new file would all switch it
        at once, and SQLite refuses some of them "database is locked" without waiting for
        its busy timeout (measured: 2 to 4 rounds in 800 of six processes opening a new file
        together). So the switch takes the writers' turn across processes.
        """
        args, kwargs = engine.sync_engine.dialect.create_connect_args(self.url)
        options: dict[str, Any] = {**kwargs, "timeout": BUSY_TIMEOUT_MS / 1000}

        def switch() -> None:
            connection = sqlite3.connect(args[0], **options)
            try:
                connection.execute("PRAGMA journal_mode=WAL")
            finally:
                connection.close()

        if fcntl is None:  # no flock(2) (Windows): processes do not take turns
            await asyncio.to_thread(switch)
            return
        lock = _sqlite._FileLock(lock_file)
        try:
            try:
                await lock.acquire(BUSY_TIMEOUT_MS / 1000)
            except TimeoutError:
                raise DatabaseBusyError(
                    f"waited {BUSY_TIMEOUT_MS / 1000:.0f} s for another process to finish "
                    f"writing to {self.url.database} before opening it"
                ) from None
            await asyncio.to_thread(switch)
        finally:
            lock.close()  # which lets the next process in

    def _start_checkpointer(
        self, engine: AsyncEngine, lock_file: str | None
    ) -> Checkpointer | None:
        """On a SQLite file, the thread that checkpoints the log instead of the commits."""
        if lock_file is None:
            return None
        args, kwargs = engine.sync_engine.dialect.create_connect_args(self.url)
        checkpointer = Checkpointer(args[0], lock_file, dict(kwargs))
        try:
            checkpointer.start()
        except sqlite3.Error as error:  # then the commits checkpoint, as SQLite does by default
            logger.warning("no background checkpoints for %s: %s", self.url.database, error)
            return None
        return checkpointer

    async def _connect_sqlite(self) -> _sqlite_driver.Connection:
        """A connection through Dolmen's SQLite driver (one thread trip per statement).

        It is opened with the arguments SQLAlchemy derives from the URL (``uri``, ``timeout``).
        """
        args, kwargs = self.engine.sync_engine.dialect.create_connect_args(self.url)
        return await _sqlite_driver.connect(*args, **kwargs)

    def _pool_capacity(self) -> int:
        """PostgreSQL: how many connections the pool opens at most (SQLAlchemy's 5 + 10).

        :meth:`driver` keeps one out of it only when that leaves the dispatcher's ``LISTEN``
        connection and a unit of work theirs: a pool of 1 or 2 lends one for each use.
        """
        size = self.pool_size if self.pool_size is not None else 5
        return size + (self.max_overflow if self.max_overflow is not None else 10)

    def _is_file(self) -> bool:
        database = self.url.database
        return bool(database) and database != ":memory:" and "mode=memory" not in str(self.url)

    def _prepare_sqlite_file(self) -> None:
        database = self.url.database
        if self.is_sqlite and database and self._is_file():
            Path(database).parent.mkdir(parents=True, exist_ok=True)
