"""The application's database: engine set-up, per-module schemas, readiness."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.schema import CreateSchema
from sqlalchemy.util import await_only

from dolmen.persistence._tables import ModuleTables
from dolmen.persistence.exceptions import DatabaseBusyError, DatabaseConfigurationError

logger = logging.getLogger(__name__)

SQLITE_POOL_SIZE = 20
SQLITE_POOL_OVERFLOW = 20
WRITE_OPTION = "dolmen_write"
"""Execution option: this connection's transaction will write (SQLite: BEGIN IMMEDIATE)."""


def normalize_url(raw: str) -> URL:
    """Parse a database URL, choosing Dolmen's async driver when none is named."""
    try:
        url = make_url(raw)
    except ArgumentError as error:
        raise DatabaseConfigurationError(
            f"cannot parse database URL {raw!r}: {error}; expected e.g. "
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
        self._writers = _WriterQueue()

    @property
    def engine(self) -> AsyncEngine:
        """The engine; available between :meth:`open` and :meth:`close`."""
        if self._engine is None:
            raise RuntimeError("the database is not open; start the application first")
        return self._engine

    @property
    def write_engine(self) -> AsyncEngine:
        """The same engine and pool, for connections whose transaction will write."""
        if self._write_engine is None:
            raise RuntimeError("the database is not open; start the application first")
        return self._write_engine

    async def open(self, *, create_tables: bool = True) -> None:
        """Create the engine (and, for now, the modules' schemas and tables)."""
        self._prepare_sqlite_file()
        options: dict[str, Any] = {}
        if self.is_sqlite:
            options["execution_options"] = {
                "schema_translate_map": {m.module: None for m in self.modules}
            }
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
        if self.is_sqlite:
            _configure_sqlite(engine, self._writers)
        self._engine = engine
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})
        if create_tables:
            await self.create_tables()

    async def create_tables(self) -> None:
        """Create missing schemas and tables of every module."""
        async with self.write_engine.begin() as connection:
            for tables in self.modules:
                if not self.is_sqlite:
                    await connection.execute(CreateSchema(tables.module, if_not_exists=True))
                await connection.run_sync(tables.metadata.create_all)

    async def ping(self) -> None:
        """Run ``SELECT 1``; raises if the database cannot be reached."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Dispose of the engine and its pooled connections."""
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
            self._write_engine = None

    def _is_file(self) -> bool:
        database = self.url.database
        return bool(database) and database != ":memory:" and "mode=memory" not in str(self.url)

    def _prepare_sqlite_file(self) -> None:
        database = self.url.database
        if self.is_sqlite and database and self._is_file():
            Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine, writers: _WriterQueue) -> None:
    """WAL, busy timeout, foreign keys, and transactions begun by us, not by the driver."""

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN instead of the driver guessing.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # a no-op once the file is in WAL mode
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        # Writers take the lock up front, so two writers never deadlock upgrading. Readers
        # run without BEGIN: each statement reads the latest committed state (WAL).
        if connection.get_execution_options().get(WRITE_OPTION, False):
            writers.enter(connection)
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                writers.leave(connection)
                raise

    @event.listens_for(engine.sync_engine, "commit")
    @event.listens_for(engine.sync_engine, "rollback")
    def on_end(connection: Connection) -> None:
        writers.leave(connection)


BUSY_TIMEOUT_MS = 5000


class _WriterQueue:
    """The SQLite writers of this process, one at a time, in the order they asked.

    SQLite has one write lock per database; a writer that finds it taken sleeps and tries
    again (1, 2, 5, 10, 15, 20 ms ...), so under load writers wait longer than the lock is
    held, and past ``busy_timeout`` fail. Within one process they queue here instead, on an
    asyncio lock taken just before ``BEGIN IMMEDIATE`` and released at commit or rollback;
    only writers of other processes still meet SQLite's own waiting.
    """

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None
        self._holder: Connection | None = None

    def enter(self, connection: Connection) -> None:
        """Wait (inside SQLAlchemy's greenlet) until this connection may write."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        try:
            await_only(asyncio.wait_for(self._lock.acquire(), BUSY_TIMEOUT_MS / 1000))
        except TimeoutError:
            raise DatabaseBusyError(
                f"waited {BUSY_TIMEOUT_MS / 1000:.0f} s for another unit of work of this "
                "process to finish writing to SQLite; keep writing transactions short (no "
                "slow calls between their first statement and their commit), or use "
                "PostgreSQL for many concurrent writers"
            ) from None
        self._holder = connection

    def leave(self, connection: Connection) -> None:
        """Let the next writer in, if ``connection`` was the one writing."""
        if self._holder is connection and self._lock is not None:
            self._holder = None
            self._lock.release()
