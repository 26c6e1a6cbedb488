"""SQLite set-up: pragmas, ``BEGIN IMMEDIATE`` for writers, and writers taking turns."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from dolmen.persistence.exceptions import DatabaseBusyError

try:
    import fcntl
except ImportError:  # pragma: no cover  # Windows: writers of other processes meet SQLite's waiting
    fcntl = None  # type: ignore[assignment]

BUSY_TIMEOUT_MS = 5000
"""How long a writer waits for its turn (and SQLite's ``busy_timeout``)."""
WRITE_OPTION = "dolmen_write"
"""Execution option: this connection's transaction will write (SQLite: BEGIN IMMEDIATE)."""
T = TypeVar("T")
LOCK_FILE_SUFFIX = "-writer.lock"
"""The file beside the database whose lock the writers of every process take in turn."""

_ADVICE = (
    "keep writing transactions short (no slow calls between their first statement and their "
    "commit), or use PostgreSQL for many concurrent writers"
)


def configure_sqlite(
    engine: AsyncEngine,
    write_engine: AsyncEngine,
    writers: WriterQueue,
    *,
    background_checkpoints: bool = False,
) -> None:
    """WAL, busy timeout, foreign keys, and writers that take turns (see :class:`WriterQueue`).

    ``write_engine`` is ``engine`` with :data:`WRITE_OPTION` (same pool and dialect): the
    writers' ``begin`` and ``rollback`` listeners are set on it alone. A listener of those
    connection events on ``engine`` itself would make every connection, a read's too, join
    the engine's event dispatch and look up each of its events on the way (20 to 40 µs of
    CPU per unit of work, measured); SQLAlchemy documents that listeners set on an engine
    made by ``execution_options`` are its own, its parent's being inherited.

    With ``background_checkpoints``, the connections never checkpoint the log when they
    commit (a :class:`~dolmen.persistence._sqlite_checkpoint.Checkpointer` does, in its
    thread).
    """

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN instead of the driver guessing.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # a no-op once the file is in WAL mode
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        if background_checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine.sync_engine, "reset")
    def on_reset(dbapi_connection: Any, _record: Any, _state: Any) -> None:
        # A connection goes back to the pool: roll back only if a transaction is open. The
        # pool's own reset would always send a ROLLBACK to the driver's thread and wait for
        # it, a round trip per unit of work, mostly for nothing (the engine is created with
        # pool_reset_on_return=None, SQLAlchemy's recipe for a custom reset).
        if _in_transaction(dbapi_connection):
            dbapi_connection.rollback()

    @event.listens_for(write_engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        # Writers take the lock up front, so two writers never deadlock upgrading. Readers
        # run without BEGIN: each statement reads the latest committed state (WAL).
        if connection.get_execution_options().get(WRITE_OPTION, False):
            writers.enter(connection)
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                writers.leave(connection.connection)
                raise

    @event.listens_for(write_engine.sync_engine, "rollback")
    def on_rollback(connection: Connection) -> None:
        # A connection found broken is thrown away without a ROLLBACK (closing it ends the
        # transaction): give the turn back here, as no do_rollback will follow. (Only the
        # write engine's connections take the turn.)
        if connection.invalidated or connection.closed:
            writers.leave_connection(connection)

    # SQLAlchemy's "commit" and "rollback" events fire *before* the driver's COMMIT or
    # ROLLBACK runs; giving the turn away there would send the next writer into a lock still
    # held. So the turn is given back after them, by wrapping this engine's dialect methods
    # (each engine has a dialect instance of its own). Readers run without BEGIN: for them
    # the driver's commit and rollback do nothing, but cost a round trip to its thread.
    def then_leave(end: Callable[[Any], None]) -> Callable[[Any], None]:
        def ending(dbapi_connection: Any) -> None:
            try:
                if _in_transaction(dbapi_connection):
                    end(dbapi_connection)
            finally:
                writers.leave(dbapi_connection)

        return ending

    dialect = engine.sync_engine.dialect
    dialect.do_commit = then_leave(dialect.do_commit)  # type: ignore[method-assign,assignment]
    dialect.do_rollback = then_leave(dialect.do_rollback)  # type: ignore[method-assign,assignment]


async def _within(waiting: Awaitable[T], seconds: float) -> T:
    """``waiting``, or TimeoutError after ``seconds``.

    Unlike ``asyncio.wait_for`` it makes no task: a lock that is free is taken at once, in the
    caller's turn of the event loop (a writer's turn is taken on every writing transaction).
    """
    async with asyncio.timeout(seconds):
        return await waiting


def _in_transaction(dbapi_connection: Any) -> bool:
    """Whether SQLite has a transaction open on this connection (no trip to its thread).

    A closed connection has none (aiosqlite raises ValueError; its SQLAlchemy adapter then
    skips COMMIT and ROLLBACK too).
    """
    try:
        return bool(dbapi_connection.driver_connection.in_transaction)
    except (ValueError, sqlite3.ProgrammingError):
        return False


class WriterQueue:
    """The SQLite writers of one database, one at a time, in turn, across processes.

    SQLite has one write lock per database. A writer that finds it taken sleeps and tries
    again (1, 2, 5, 10, 15, 20 ms ...), so under load writers wait much longer than the lock
    is held, an unlucky one keeps losing to a busier one (measured: an outbox claim waiting
    80 ms while another process committed a thousand times a second), and past
    ``busy_timeout`` they fail. So Dolmen's writers queue before ``BEGIN IMMEDIATE``:

    - within a process on an asyncio lock, in the order they asked;
    - across processes on an exclusive ``flock(2)`` of a file beside the database
      (``<database>-writer.lock``), which the kernel hands to a waiter the moment it is
      released, and releases when its process dies, ``kill -9`` included.

    Both are given back after ``COMMIT`` or ``ROLLBACK`` has run. Writers that do not come
    through Dolmen (the ``sqlite3`` shell, another program) still meet SQLite's waiting.
    """

    def __init__(
        self, lock_file: str | None, after_write: Callable[[], None] | None = None
    ) -> None:
        self._after_write = after_write
        """Called each time a writer gives its turn back (its transaction has ended)."""
        self._lock: asyncio.Lock | None = None
        self._holder: Any = None
        """The pooled DBAPI connection whose transaction has the turn."""
        self._holder_connection: Connection | None = None
        self._file = _FileLock(lock_file) if lock_file is not None and fcntl else None

    def enter(self, connection: Connection) -> None:
        """Wait (inside SQLAlchemy's greenlet) until ``connection`` may write."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        try:
            await_only(_within(self._lock.acquire(), BUSY_TIMEOUT_MS / 1000))
        except TimeoutError:
            raise DatabaseBusyError(
                f"waited {BUSY_TIMEOUT_MS / 1000:.0f} s for another unit of work of this "
                f"process to finish writing to SQLite; {_ADVICE}"
            ) from None
        try:
            if self._file is not None:
                await_only(self._file.acquire(deadline - time.monotonic()))
        except TimeoutError:
            self._lock.release()
            raise DatabaseBusyError(
                f"waited {BUSY_TIMEOUT_MS / 1000:.0f} s for another process to finish writing "
                f"to SQLite; {_ADVICE}"
            ) from None
        except BaseException:
            self._lock.release()
            raise
        self._holder = connection.connection
        self._holder_connection = connection

    def leave(self, dbapi_connection: Any) -> None:
        """Let the next writer in, if ``dbapi_connection`` was the one writing."""
        if self._holder is not dbapi_connection or self._lock is None:
            return
        self._holder = None
        self._holder_connection = None
        if self._file is not None:
            self._file.release()
        self._lock.release()
        if self._after_write is not None:
            self._after_write()

    def leave_connection(self, connection: Connection) -> None:
        """:meth:`leave`, for a connection that no longer has its DBAPI connection."""
        if self._holder_connection is connection:
            self.leave(self._holder)

    def close(self) -> None:
        """Close the lock file (when the database closes)."""
        if self._file is not None:
            self._file.close()


class _FileLock:
    """An exclusive ``flock(2)`` of a file, waited for without blocking the event loop.

    A free lock is taken at once; a held one is waited for in a thread of its own, which
    the kernel wakes when the holder lets go. A waiter that gives up leaves that thread to
    finish; whatever it then takes is given straight back, unless a new waiter wants it.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pending: asyncio.Future[None] | None = None
        self._wanted = False
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False

    async def acquire(self, within: float) -> None:
        """Take the lock within ``within`` seconds; raises TimeoutError."""
        assert fcntl is not None
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        if self._pending is None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass  # another process is writing: wait for the kernel to hand it over
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="dolmen-sqlite-lock")
            loop = asyncio.get_running_loop()
            self._pending = loop.run_in_executor(
                self._executor, fcntl.flock, self._fd, fcntl.LOCK_EX
            )
            self._pending.add_done_callback(self._taken)
        self._wanted = True
        try:
            await asyncio.wait_for(asyncio.shield(self._pending), max(within, 0.0))
        except BaseException:
            self._wanted = False  # given back by _taken when the thread gets it
            raise

    def _taken(self, pending: asyncio.Future[None]) -> None:
        self._pending = None
        if pending.cancelled() or pending.exception() is not None:
            return
        if self._closed or not self._wanted:
            self.release()  # its waiter gave up
        if self._closed:
            self._close_file()

    def release(self) -> None:
        """Let another process write."""
        assert fcntl is not None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the file (now, or once a waiting thread is done with it)."""
        self._closed = True
        if self._pending is None:
            self._close_file()
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def _close_file(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
