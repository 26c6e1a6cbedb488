"""Dolmen's asyncio SQLite driver connection: one trip to its thread per statement.

SQLAlchemy's ``sqlite+aiosqlite`` dialect talks to an aiosqlite connection, which runs every
call in a thread of its own: creating a cursor, executing, fetching and closing it are four
trips for one ``SELECT``, three for an ``INSERT``, each a wake-up of that thread and then of
the event loop. On a virtual machine a trip costs 60 to 120 µs of CPU (measured), more than
the statement itself, and a unit of work that publishes one event made seven.

:class:`Connection` keeps the same interface (what the dialect calls) but does each
statement's work in one trip: execute, read up to :data:`PREFETCH` rows, and close the
SQLite cursor when that was all of them. A ``BEGIN`` is held back and sent with the next
statement, so it costs no trip of its own, and a transaction that never ran a statement
commits or rolls back without one. So are ``SAVEPOINT``, ``RELEASE`` and ``ROLLBACK TO``
(statements that return nothing): a unit of work nested in a savepoint costs no extra trip.
The dialect, its type handling and its error mapping stay SQLAlchemy's (the engine is
created with ``async_creator``).

A trip costs more than a short statement (an ``INSERT`` of one row takes a few µs), and on a
busy machine it waits for the thread to be scheduled. So once a transaction holds SQLite's
write lock (its ``BEGIN IMMEDIATE`` ran), a statement that was fast every time it ran on this
connection runs in the caller's thread instead: it can wait for no lock, and for no other
call, the thread having none queued. Its first run goes to the thread, timed; a run that takes
more CPU time than :data:`FAST_SECONDS` (or longer than :data:`WAITED_SECONDS` in all), there
or here, sends that statement to the thread for good. The event loop is held for about that
long at most, save a known-fast statement that turns slow once.

A ``SELECT`` outside a transaction (a read-only unit of work's statements: an HTTP GET, an
``@idempotent`` call from another unit) that was fast every time runs in the caller's thread
too, with SQLite's busy timeout at 0 for it: in WAL mode a reader waits for no writer, and in
the rare case where SQLite would wait for a lock (another journal mode, a recovery), the
statement stops at once, having read nothing, and makes its trip as before, where it waits with
the busy timeout. The timeout stays at 0 from one such read to the next (two ``PRAGMA``
statements per read otherwise): the thread gives it back before its next call, and so does a
transaction begun in the caller's thread, so that nothing that may wait runs with it at 0.
A read made one trip and two hand-overs between threads per call: on a busy machine about
100 µs of CPU and as much latency per call across units (measured), more than the ``SELECT``
itself.

Whole transactions of known work (the outbox's claims, completions and intake: a ``name`` given
to :meth:`Connection.run_in_transaction`) go further: once a run took at most
:data:`INLINE_SECONDS` of CPU time, the next one runs in the caller's thread, its ``BEGIN
IMMEDIATE`` included, if that gets the write lock at once (tried with a busy timeout of 0: the
writers' turn is held, so only a writer that is not Dolmen's can have it; then it goes to the
thread, which waits as usual). On a busy machine a trip's two hand-overs between threads, each
waiting for the GIL and the scheduler, took milliseconds at the 99th percentile, several times
per event crossing units; the work itself takes a fraction of a millisecond.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from queue import SimpleQueue
from typing import Any, TypeVar

T = TypeVar("T")

PREFETCH = 1000
"""Rows read in the trip that executes a statement; more are read on demand (streaming)."""

FAST_SECONDS = 0.0005
"""A statement that never took more CPU time than this on a connection (nor waited longer
than :data:`WAITED_SECONDS` in all) runs in the caller's thread while that connection holds
the write lock (see the module's documentation)."""

INLINE_SECONDS = 0.002
"""A named transaction (:meth:`Connection.run_in_transaction`) whose last run took at most
this CPU time runs in the caller's thread, without a trip (see there)."""

WAITED_SECONDS = 0.02
"""A run of a statement longer than this in all (waiting for the disk, say) makes it slow.
CPU time decides below it: a run also waits for Python's lock (SQLite lets it go while it
works) and for the machine's other processes, which says nothing of the statement."""

_YIELD_EVERY = 16
"""Statements run in the caller's thread one after the other before the caller yields to the
event loop once (its other tasks run meanwhile, as they do while a statement makes a trip)."""
_MOST_REMEMBERED = 1000
"""Statements whose speed a connection remembers, at most (then it forgets them all)."""
_WRITE_BEGINS = frozenset({"BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"})

_BEGINS = frozenset({"BEGIN", "BEGIN DEFERRED", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"})
_WAITED_FOR_A_LOCK = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
"""SQLite's primary result codes for a statement that would have waited for a lock."""
_SAVEPOINTS = ("SAVEPOINT ", "RELEASE ", "ROLLBACK TO ")
_STOP = object()


class _Worker:
    """The thread that owns one SQLite connection; runs calls in order, one at a time."""

    def __init__(self) -> None:
        self._calls: SimpleQueue[Any] = SimpleQueue()
        self._queued = 0
        """Calls queued so far (counted by the callers' thread only)."""
        self._done = 0
        """Calls run so far (counted by the worker's thread only): idle when equal."""
        self.before: Callable[[], object] | None = None
        """Run in the thread before its next call, then dropped: a read in the caller's
        thread leaves SQLite's busy timeout at 0, and this gives it back (see
        :meth:`Connection._not_waiting`). Set and read in the callers' thread only while the
        thread is idle; it refers to the SQLite connection, never to the Connection."""
        self._thread = threading.Thread(target=self._run, name="dolmen-sqlite", daemon=True)
        self._thread.start()

    @property
    def idle(self) -> bool:
        """Whether the thread has run every call queued (none is running or waiting)."""
        return self._queued == self._done

    def _run(self) -> None:
        while True:
            item = self._calls.get()
            if item is _STOP:
                return
            future, function = item
            try:
                before = self.before
                if before is not None:
                    self.before = None
                    before()
                result = function()
            except BaseException as error:  # handed to the waiting coroutine
                self._done += 1
                future.get_loop().call_soon_threadsafe(_set_exception, future, error)
            else:
                self._done += 1
                future.get_loop().call_soon_threadsafe(_set_result, future, result)

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        """Queue ``(future, function)`` to run in the thread.

        SQLAlchemy's adapter sets ``isolation_level`` this way (``connection._tx.put_nowait``).
        """
        self._queued += 1
        self._calls.put(item)

    async def run(self, function: Callable[[], T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queued += 1
        self._calls.put((future, function))
        return await future

    def stop(self) -> None:
        self._calls.put(_STOP)


def _set_result(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _set_exception(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


async def connect(database: str, **kwargs: Any) -> Connection:
    """Open ``database`` in a new thread (``kwargs`` go to :func:`sqlite3.connect`)."""
    worker = _Worker()
    kwargs.setdefault("isolation_level", None)  # transactions are begun explicitly
    kwargs["check_same_thread"] = False  # the connection is only used from its thread

    try:
        raw = await worker.run(lambda: sqlite3.connect(database, **kwargs))
    except BaseException:
        worker.stop()
        raise
    return Connection(raw, worker)


class Connection:
    """An asyncio connection to SQLite, with the methods SQLAlchemy's aiosqlite adapter uses."""

    def __init__(self, raw: sqlite3.Connection, worker: _Worker) -> None:
        self._connection: sqlite3.Connection | None = raw
        """The SQLite connection; None once closed (the adapter checks it)."""
        self._tx = worker
        self._held: list[str] = []
        """A BEGIN and savepoint statements not yet sent: they go with the next statement."""
        self._at_commit: list[tuple[str, Sequence[Any]]] = []
        """Statements whose results nobody reads, sent with the COMMIT (see execute_at_commit)."""
        self._writing = False
        """The transaction holds the write lock (its BEGIN IMMEDIATE ran)."""
        self._fast: dict[str, bool] = {}
        """Per statement, whether every run of it so far took at most FAST_SECONDS."""
        self._streak = 0
        """Statements run in the caller's thread since the last trip or yield."""
        self._busy_ms: int | None = None
        """SQLite's busy timeout on this connection (read once, when first needed)."""
        weakref.finalize(self, worker.stop)  # a connection dropped unclosed ends its thread

    @property
    def _conn(self) -> sqlite3.Connection:
        # SQLAlchemy's isolation_level setter runs a function on this in the thread.
        if self._connection is None:
            raise ValueError("Connection closed")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (or begun and waiting for its first statement)."""
        return bool(self._held) or bool(self._at_commit) or self._conn.in_transaction

    @property
    def total_changes(self) -> int:
        return self._conn.total_changes

    def cursor(self) -> Cursor:
        """A cursor; creating it costs no trip (its SQLite cursor is made per statement)."""
        return Cursor(self)

    async def execute(self, sql: str, parameters: Any = None) -> Cursor:
        cursor = Cursor(self)
        await cursor.execute(sql, parameters)
        return cursor

    def execute_at_commit(self, sql: str, seq_of_parameters: Sequence[Any]) -> None:
        """Run ``sql`` for each parameter set just before this transaction's COMMIT.

        They go in the commit's trip (nothing is sent on rollback): for writes whose outcome
        nobody reads before the commit, such as the outbox's rows. If one fails, the commit
        fails and nothing of the transaction is kept.
        """
        self._conn  # noqa: B018  # raises when closed
        self._at_commit.append((sql, seq_of_parameters))

    async def commit(self) -> None:
        """Commit: in the caller's thread once commits proved fast, if the lock is held.

        A commit with statements queued by :meth:`execute_at_commit` is named after the
        first of them, a bare one ``COMMIT`` (see :meth:`run_in_transaction`).
        """
        if self._at_commit:
            await self.run_in_transaction(_nothing, name=self._at_commit[0][0])
            return
        if self._held and _is_begin(self._held[0]):
            self._held, self._writing = [], False
            return  # nothing ran since BEGIN (savepoints alone change nothing): no commit
        await self.run_in_transaction(_nothing, name="COMMIT")

    async def rollback(self) -> None:
        self._writing = False
        held, self._at_commit = self._take_held(), []
        if not (held and _is_begin(held[0])):  # else nothing ran since BEGIN: no rollback
            await self._tx.run(self._conn.rollback)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        connection = self._conn
        await self._tx.run(lambda: connection.create_function(*args, **kwargs))

    async def close(self) -> None:
        """Close the SQLite connection and end its thread (closing twice does nothing)."""
        connection, self._connection = self._connection, None
        self._held, self._at_commit, self._writing = [], [], False
        if connection is None:
            return
        try:
            await self._tx.run(connection.close)
        finally:
            self._tx.stop()

    def stop(self) -> None:
        """Close without waiting (SQLAlchemy's terminate): the thread closes it and ends."""
        connection, self._connection = self._connection, None
        self._held, self._at_commit, self._writing = [], [], False
        if connection is not None:
            self._tx.put_nowait((_Discard(), connection.close))
            self._tx.stop()

    async def run_in_transaction(
        self, work: Callable[[sqlite3.Connection], T], *, name: str | None = None
    ) -> T:
        """Run ``work`` on the SQLite connection and commit, all in one trip (or none).

        The held-back ``BEGIN`` (the caller began a transaction through SQLAlchemy, which
        also gave it the writers' turn) runs first, the statements queued by
        :meth:`execute_at_commit` after ``work``; if anything raises, the transaction is
        rolled back. Afterwards SQLAlchemy's own commit or rollback finds nothing to do.

        A ``name`` says which work this is (the outbox's claim, say): once a run of it took
        at most :data:`INLINE_SECONDS` of CPU time, the next one runs in the caller's thread,
        without a trip, if the transaction holds the write lock already or its ``BEGIN
        IMMEDIATE`` gets it at once (the writers' turn is held: only a writer that does not
        come through Dolmen can have it); else it goes to the thread, as does the next run
        after a slow one.
        """
        held, deferred, self._at_commit = self._take_held(), self._at_commit, []
        connection = self._conn
        holding = self._writing and not held and connection.in_transaction
        """The transaction holds the write lock already: nothing to wait for."""
        self._writing = False
        fast = self._fast

        def run(begin: Sequence[str] = held) -> T:
            started, cpu = time.perf_counter(), time.thread_time()
            for statement in begin:
                connection.execute(statement)
            try:
                result = work(connection)
                for sql, rows in deferred:
                    connection.executemany(sql, rows)
            except BaseException:
                if connection.in_transaction:
                    connection.rollback()
                raise
            if connection.in_transaction:
                connection.commit()
            if name is not None:
                fast[name] = (
                    time.thread_time() - cpu <= INLINE_SECONDS
                    and time.perf_counter() - started <= WAITED_SECONDS
                )
            return result

        known_fast = name is not None and fast.get(name, False) and self._tx.idle
        if known_fast and (holding or self._began(held)):
            self._waiting_again()  # (a no-op: a transaction began, so reads left it as it was)
            return run(())  # here: see above
        return await self._tx.run(run)

    def _began(self, held: list[str]) -> bool:
        """Run ``held``, a write BEGIN, in the caller's thread if it gets the lock at once.

        False (nothing ran) when the lock is taken, or ``held`` is not one write BEGIN.
        """
        connection = self._conn
        if len(held) != 1 or held[0].strip().upper() not in _WRITE_BEGINS:
            return False
        self._not_waiting()
        try:
            connection.execute(held[0])
        except sqlite3.OperationalError:  # locked by a writer that is not Dolmen's
            return False  # (the thread gives the busy timeout back before it waits)
        self._waiting_again()
        return True

    def _read_at_once(self, read: Callable[[], T]) -> T:
        """``read()`` in the caller's thread with a busy timeout of 0.

        _WouldWait when SQLite would have waited for a lock (the read stopped at its start,
        having read nothing); any other error as ``read`` raised it.
        """
        self._not_waiting()
        try:
            return read()
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF in _WAITED_FOR_A_LOCK:
                raise _WouldWait from error
            raise

    def _not_waiting(self) -> None:
        """SQLite's busy timeout at 0 from now: a statement that meets a lock fails at once.

        Called in the caller's thread while the thread is idle. The timeout stays at 0 until
        the thread's next call, which gives it back first, or :meth:`_waiting_again`: reads
        one after the other in the caller's thread (a read-only service's) set it once, not
        twice per read. A statement that can wait for a lock (a write, a read in a
        transaction, one sent to the thread) never runs with it at 0.
        """
        worker = self._tx
        if worker.before is not None:
            return  # at 0 already
        connection = self._conn
        if self._busy_ms is None:  # read once
            self._busy_ms = int(connection.execute("PRAGMA busy_timeout").fetchone()[0])
        connection.execute("PRAGMA busy_timeout=0")
        worker.before = functools.partial(
            connection.execute, f"PRAGMA busy_timeout={self._busy_ms}"
        )

    def _waiting_again(self) -> None:
        """SQLite's busy timeout given back now if a read here left it at 0 (thread idle)."""
        restore, self._tx.before = self._tx.before, None
        if restore is not None:
            restore()

    def _runs_here(self, sql: str | None) -> bool:
        """Whether ``sql`` may run in the caller's thread now (see the module's documentation).

        Only while the transaction holds the write lock (no wait for it), the thread has no
        call queued (none runs on the connection meanwhile), and the statement was fast.
        """
        return (
            sql is not None
            and self._writing
            and self._fast.get(sql, False)
            and self._tx.idle
            and self._conn.in_transaction
        )

    def _reads_here(self, sql: str | None) -> bool:
        """Whether ``sql`` may run in the caller's thread now as a read (see the module).

        Only a ``SELECT`` outside a transaction, fast so far, while the thread has no call
        queued; it then runs with :meth:`_read_at_once`.
        """
        return (
            sql is not None
            and self._fast.get(sql, False)
            and self._tx.idle
            and not self._writing
            and not self._conn.in_transaction
            and _is_select(sql)
        )

    def _take_held(self) -> list[str]:
        held, self._held = self._held, []
        return held


def _nothing(_: sqlite3.Connection) -> None:
    """The work of a bare commit."""


def _is_begin(sql: str) -> bool:
    return sql.strip().upper() in _BEGINS


def _is_select(sql: str) -> bool:
    """Whether ``sql`` is a ``SELECT`` (which writes nothing; a ``WITH`` may)."""
    return sql.lstrip()[:6].upper() == "SELECT"


class _WouldWait(Exception):
    """A statement run in the caller's thread stopped where SQLite would wait for a lock."""


def _held_back(sql: str) -> bool:
    """Whether ``sql`` waits for the next statement: a BEGIN, or a savepoint statement."""
    statement = sql.strip().upper()
    return statement in _BEGINS or statement.startswith(_SAVEPOINTS)


class _Discard:
    """A stand-in future for a call nobody waits for."""

    def get_loop(self) -> _Discard:
        return self

    def call_soon_threadsafe(self, *_: Any) -> None:
        return None


class Cursor:
    """A cursor whose statement runs, and whose rows are read, in one trip."""

    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self._owner = connection
        self._raw: sqlite3.Cursor | None = None
        """The SQLite cursor while rows are left to read in the thread; else None."""
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = None) -> Cursor:
        owner = self._owner
        if not parameters and _held_back(sql):
            owner._conn  # noqa: B018  # raises when closed, as a real BEGIN would
            owner._held.append(sql)
            self._reset()
            return self
        arguments = () if parameters is None else parameters
        return await self._run(lambda raw: raw.execute(sql, arguments), sql)

    async def executemany(self, sql: str, seq_of_parameters: Sequence[Any]) -> Cursor:
        return await self._run(lambda raw: raw.executemany(sql, seq_of_parameters))

    async def _run(
        self, statement: Callable[[sqlite3.Cursor], object], sql: str | None = None
    ) -> Cursor:
        """One trip: the held-back BEGIN, ``statement`` on a new SQLite cursor, its first rows.

        No trip for ``sql`` known to be fast while the write lock is held (see the module).
        """
        owner = self._owner
        held = owner._take_held()
        connection = owner._conn
        fast = owner._fast

        def run() -> tuple[Any, ...]:
            for earlier in held:
                connection.execute(earlier)
            raw = connection.cursor()
            try:
                started, cpu = time.perf_counter(), time.thread_time()
                statement(raw)
                first = self._read_first(raw)  # (its rows are read too: timed with it)
                if sql is not None and fast.get(sql, True):
                    # CPU time: a run also waits for Python's lock (SQLite lets it go while
                    # it works) and for other processes, which says nothing of the statement.
                    fast[sql] = (
                        time.thread_time() - cpu <= FAST_SECONDS
                        and time.perf_counter() - started <= WAITED_SECONDS
                    )
                return first
            except (OverflowError, UnicodeEncodeError) as error:
                # sqlite3 refuses these values (an integer past 64 bits, an unpaired
                # surrogate) before SQLite sees them, with errors that are not the DB-API's:
                # as a DataError, SQLAlchemy wraps them as it does PostgreSQL's.
                raw.close()
                raise sqlite3.DataError(f"a value cannot be stored: {error}") from error
            except BaseException:
                raw.close()
                raise

        if not held and (owner._runs_here(sql) or owner._reads_here(sql)):
            try:  # in this thread: see the module's documentation
                if owner._writing:
                    owner._waiting_again()  # (a no-op, as in run_in_transaction)
                    self._absorb(run())
                else:
                    self._absorb(owner._read_at_once(run))
            except _WouldWait:
                pass  # (a read) to the thread, which waits for the lock
            else:
                owner._streak += 1
                if owner._streak >= _YIELD_EVERY:
                    owner._streak = 0
                    await asyncio.sleep(0)
                return self
        owner._streak = 0
        if len(fast) > _MOST_REMEMBERED:
            fast.clear()
        self._absorb(await owner._tx.run(run))
        if any(statement.strip().upper() in _WRITE_BEGINS for statement in held):
            owner._writing = True
        return self

    @staticmethod
    def _read_first(raw: sqlite3.Cursor) -> tuple[Any, ...]:
        """In the thread: the first rows and the cursor's state; the cursor closed if done."""
        description = raw.description
        rows = raw.fetchmany(PREFETCH) if description else []
        state = (raw.rowcount, raw.lastrowid)
        left: sqlite3.Cursor | None = raw
        if len(rows) < PREFETCH:
            raw.close()
            left = None
        return rows, left, description, *state

    def _absorb(self, state: tuple[Any, ...]) -> None:
        rows, self._raw, self.description, self.rowcount, self.lastrowid = state
        self._rows = deque(rows)

    def _reset(self) -> None:
        self._rows = deque()
        self._raw = None
        self.description = None
        self.rowcount = -1

    async def _more(self, size: int | None) -> None:
        """Read ``size`` more rows (all when None) from the thread into the buffer."""
        raw = self._raw
        if raw is None:
            return

        def run() -> tuple[list[Any], bool]:
            rows = raw.fetchall() if size is None else raw.fetchmany(size)
            done = size is None or len(rows) < size
            if done:
                raw.close()
            return rows, done

        rows, done = await self._owner._tx.run(run)
        self._rows.extend(rows)
        if done:
            self._raw = None

    async def fetchone(self) -> Any:
        if not self._rows:
            await self._more(PREFETCH)
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = self.arraysize if size is None else size
        if len(self._rows) < size:
            await self._more(max(size - len(self._rows), PREFETCH))
        return [self._rows.popleft() for _ in range(min(size, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        await self._more(None)
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        """Drop the rows; an SQLite cursor still open (rows left unread) is closed."""
        self._rows.clear()
        raw, self._raw = self._raw, None
        if raw is not None and self._owner._connection is not None:
            await self._owner._tx.run(raw.close)

    def __aiter__(self) -> Cursor:
        return self

    async def __anext__(self) -> Any:
        row = await self.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row
