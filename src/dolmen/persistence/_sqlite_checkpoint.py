"""SQLite WAL checkpoints in a background thread, off the committing unit of work's path.

By default SQLite checkpoints (copies the write-ahead log back into the database file, and
syncs it) inside the commit that takes the log past 1,000 pages: that unit of work, and the
writers of every process queued behind it, wait a few milliseconds, which was most of the
slowest 1% of event latencies measured on SQLite. Dolmen turns that off on its connections
(``PRAGMA wal_autocheckpoint=0``) and checkpoints from a thread of its own instead, shortly
after each burst of writes. A checkpoint in ``PASSIVE`` mode runs beside readers and writers.

A log that keeps growing because writers never leave a gap (a checkpoint that does not
catch up cannot restart the log) is checkpointed once it passes ``LOG_LIMIT_FRAMES`` with
the writers' turn held (the ``flock`` of :class:`dolmen.persistence._sqlite.WriterQueue`),
so writers wait then, as they would on every such checkpoint without this thread.

Tests drive it without the thread: :meth:`Checkpointer.open`, then one round at a time with
:meth:`Checkpointer.checkpoint`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover  # Windows: no turn to hold; the log waits for a gap
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("dolmen.persistence")

AFTER_WRITE_SECONDS = 0.1
"""How long after a write the thread checkpoints (the writes of that time in one go)."""
LOG_LIMIT_FRAMES = 4000
"""Past this many pages in the log (16 MB of 4 KiB pages), checkpoint with the writers held."""


class Checkpointer:
    """Checkpoints the SQLite file ``path`` in a daemon thread after :meth:`wrote` is called.

    :meth:`start` opens its connection and starts the thread; :meth:`open` opens the
    connection alone, for a caller that runs the rounds itself with :meth:`checkpoint`.
    """

    def __init__(
        self, path: str, lock_file: str, connect_args: dict[str, Any] | None = None
    ) -> None:
        self._path = path
        self._lock_file = lock_file
        self._connect_args = dict(connect_args or {})
        """More arguments of :func:`sqlite3.connect` (``uri``, as SQLAlchemy derives them)."""
        self._connection: sqlite3.Connection | None = None
        self._wrote = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        """Open the connection the checkpoints run on (raises if it cannot)."""
        args = {**self._connect_args, "check_same_thread": False, "isolation_level": None}
        connection = sqlite3.connect(self._path, **args)
        connection.execute("PRAGMA busy_timeout=5000")
        self._connection = connection

    def start(self) -> None:
        """Open the connection (raises if it cannot) and start the thread."""
        self.open()
        self._thread = threading.Thread(
            target=self._run, name="dolmen-sqlite-checkpoint", daemon=True
        )
        self._thread.start()

    def wrote(self) -> None:
        """A writing transaction ended: checkpoint soon."""
        self._wrote.set()

    def stop(self) -> None:
        """Checkpoint what was written, and end the thread (close the connection)."""
        self._stopping.set()
        self._wrote.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        elif self._connection is not None:  # opened without the thread: the last round here
            self._wrote.clear()
            self.checkpoint()
            self._close()

    def checkpoint(self) -> bool:
        """One round now, in the calling thread: what the thread does shortly after writes.

        A ``PASSIVE`` checkpoint, beside readers and writers; if the log is past
        ``LOG_LIMIT_FRAMES``, another one with the writers' turn held (it waits for the
        writer of the moment). Returns False when SQLite refused (logged).
        """
        if self._connection is None:
            raise RuntimeError("the checkpointer is not open; call open() or start() first")
        try:
            _busy, log, _done = self._connection.execute(
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).fetchone()
            if log > LOG_LIMIT_FRAMES:
                # The log has not started again from its beginning for a while: writers
                # left no gap for a checkpoint to catch up in. With the writers held it does,
                # and the next writer then starts the log again.
                with self._writers_held():
                    self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as error:
            logger.warning("SQLite checkpoint of %s failed (%s); trying again", self._path, error)
            return False
        return True

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._wrote.wait()
                self._stopping.wait(AFTER_WRITE_SECONDS)
                self._wrote.clear()
                if not self.checkpoint():
                    self._wrote.set()  # try again, after a pause
                    self._stopping.wait(1.0)
        finally:
            self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @contextlib.contextmanager
    def _writers_held(self) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits for the writer of the moment, any process
            yield
        finally:
            os.close(fd)  # releases the lock
