"""SQLite's write-ahead log is checkpointed by a thread of Dolmen's, not by the commits.

Most tests open the app's checkpointer without its thread and run its rounds themselves, so
nothing here depends on when a thread gets the CPU; one test waits (30 s at most) for the
thread to do after a commit what the rounds do.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from dolmen import App
from dolmen.persistence import _sqlite_checkpoint
from dolmen.persistence._sqlite import LOCK_FILE_SUFFIX
from dolmen.persistence._sqlite_checkpoint import Checkpointer
from tests.waiting import within

from .notes_app import Notes, make_app


@pytest.fixture
def checkpointers(monkeypatch: pytest.MonkeyPatch) -> list[Checkpointer]:
    """The checkpointers apps open from now on, without their thread: the test runs them."""
    opened: list[Checkpointer] = []

    def open_without_thread(checkpointer: Checkpointer) -> None:
        checkpointer.open()
        opened.append(checkpointer)

    monkeypatch.setattr(Checkpointer, "start", open_without_thread)
    return opened


def quiet_app(path: Path) -> App:
    """The notes app on ``path``, without a dispatcher: no writer but the test's."""
    return make_app(f"sqlite:///{path}", events={"dispatch": False})


def in_main_file(path: Path) -> list[str]:
    """The notes in the database file itself, ignoring its log (what checkpoints wrote)."""
    connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        if not connection.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'notes__notes'"
        ).fetchone():
            return []  # not even the table yet
        return [text[:20] for (text,) in connection.execute("SELECT text FROM notes__notes")]
    finally:
        connection.close()


def copied(path: Path, expected: list[str]) -> bool:
    """Whether the database file holds ``expected``; not yet if a checkpoint is writing it.

    ``immutable=1`` reads the file without SQLite's locks, so a read that meets the
    checkpointer's thread halfway through a copy sees a torn file ("malformed").
    """
    try:
        return in_main_file(path) == expected
    except sqlite3.DatabaseError:
        return False


def log_frames(path: Path) -> int:
    """How many pages the write-ahead log holds since it last started from its beginning."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        _busy, log, _done = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(log)
    finally:
        connection.close()


async def add_notes(app: App, *texts: str) -> None:
    """Add ``texts`` in one unit of work (one commit)."""
    async with app.unit_of_work("notes") as work:
        notes: Notes = await work.get(Notes)
        for text in texts:
            await notes.add(text)


async def test_a_commit_never_checkpoints_the_log_and_a_checkpoint_round_copies_it_to_the_file(
    tmp_path: Path, checkpointers: list[Checkpointer]
) -> None:
    path = tmp_path / "app.db"
    app = quiet_app(path)
    async with app.running():
        [checkpointer] = checkpointers
        assert checkpointer.checkpoint()  # the tables' creation
        # 100 notes of 45 kB: about 1,100 pages, past the 1,000 at which SQLite's commits
        # would checkpoint by themselves.
        await add_notes(app, *(f"{n:03d}" + "x" * 45_000 for n in range(100)))
        assert in_main_file(path) == []  # all in the log: the commit did not checkpoint
        assert await asyncio.to_thread(checkpointer.checkpoint)
        assert in_main_file(path) == [f"{n:03d}" + "x" * 17 for n in range(100)]


async def test_the_thread_copies_a_commit_into_the_database_file_soon_after(
    tmp_path: Path,
) -> None:
    path = tmp_path / "app.db"
    app = quiet_app(path)
    async with app.running():
        await add_notes(app, "kept")
        # The thread checkpoints 0.1 s after a write; nothing is asserted before it does.
        assert await within(30, lambda: copied(path, ["kept"]))


async def test_a_round_below_the_log_limit_does_not_wait_for_the_writer_of_the_moment(
    tmp_path: Path, checkpointers: list[Checkpointer]
) -> None:
    path = tmp_path / "app.db"
    app = quiet_app(path)
    async with app.running():
        [checkpointer] = checkpointers
        async with app.unit_of_work("notes") as work:
            await (await work.get(Notes)).add("being written")  # holds the writers' turn
            # Were the round to wait for the turn, it would wait for this unit of work to end.
            assert await asyncio.wait_for(asyncio.to_thread(checkpointer.checkpoint), 30)


class WritersLockSpy:
    """``fcntl`` for the checkpointer: sets ``asked`` when it asks for the writers' lock."""

    def __init__(self, lock_file: Path) -> None:
        self.lock_file = lock_file
        self.asked = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(fcntl, name)

    def flock(self, fd: int, operation: int) -> None:
        if operation == fcntl.LOCK_EX and os.path.samestat(os.fstat(fd), self.lock_file.stat()):
            self.asked.set()  # then waits, for as long as a writer has the turn
        fcntl.flock(fd, operation)


async def test_past_the_log_limit_a_round_takes_the_writers_turn_so_the_log_starts_again(
    tmp_path: Path, checkpointers: list[Checkpointer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite_checkpoint, "LOG_LIMIT_FRAMES", 50)
    path = tmp_path / "app.db"
    wal = tmp_path / "app.db-wal"
    app = quiet_app(path)
    async with app.running():
        [checkpointer] = checkpointers
        for number in range(60):  # past the limit: one page or more per commit
            await add_notes(app, f"{number:03d}" + "x" * 2000)
        spy = WritersLockSpy(tmp_path / f"app.db{LOCK_FILE_SUFFIX}")
        monkeypatch.setattr(_sqlite_checkpoint, "fcntl", spy)
        async with app.unit_of_work("notes") as work:
            # A writer that began before the round and commits after its first pass, as
            # writers that never pause do: that pass cannot catch up with it.
            await (await work.get(Notes)).add("written during the round")
            round_ = asyncio.create_task(asyncio.to_thread(checkpointer.checkpoint))
            assert await asyncio.to_thread(spy.asked.wait, 30)  # first pass done: waits
        assert await asyncio.wait_for(round_, 30)  # so it had the turn after the commit
        assert len(in_main_file(path)) == 61  # so it copied the concurrent commit too
        largest = wal.stat().st_size
        await add_notes(app, "next")  # this writer finds the log caught up: starts it again
        assert log_frames(path) < 10  # not the 60-odd pages before it
        assert wal.stat().st_size <= largest  # the log's file did not grow
