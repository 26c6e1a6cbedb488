"""SQLite writers take turns: within a process, across processes, and after COMMIT has run.

Two ``Database`` objects on one file hold the lock file open separately, so between them
``flock(2)`` behaves exactly as between two processes.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from dolmen import App
from dolmen.persistence import DatabaseBusyError, _sqlite
from tests.waiting import within

from .notes_app import Notes, make_app


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "app.db"


@pytest.fixture
def held_lock(db_path: Path) -> Iterator[int]:
    """The writers' lock file, opened apart from any app: flock it to play another process."""
    fd = os.open(f"{db_path}{_sqlite.LOCK_FILE_SUFFIX}", os.O_RDWR | os.O_CREAT)
    try:
        yield fd
    finally:
        os.close(fd)


class FlockSpy:
    """``fcntl`` for the writers' queue: records each ``flock`` it asks for, and the outcome."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []
        """(operation, "asked" | "got" | "refused"), in order (appended from any thread)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(fcntl, name)

    def flock(self, fd: int, operation: int) -> None:
        self.calls.append((operation, "asked"))
        try:
            fcntl.flock(fd, operation)
        except BlockingIOError:
            self.calls.append((operation, "refused"))
            raise
        self.calls.append((operation, "got"))


@pytest.fixture
def flocks(monkeypatch: pytest.MonkeyPatch) -> FlockSpy:
    """The ``flock`` calls of the writers' queue from now on."""
    spy = FlockSpy()
    monkeypatch.setattr(_sqlite, "fcntl", spy)
    return spy


async def add_note(app: App, text: str) -> None:
    async with app.unit_of_work("notes") as work:
        await (await work.get(Notes)).add(text)


async def count_notes(app: App) -> int:
    async with app.unit_of_work("notes", write=False) as work:
        notes: Notes = await work.get(Notes)
        return await notes.count()


async def test_sqlite_writers_of_one_process_take_turns_without_failing(sqlite_url: str) -> None:
    app = make_app(sqlite_url)
    async with app.running():

        async def add(number: int) -> None:
            async with app.unit_of_work("notes") as work:
                notes: Notes = await work.get(Notes)
                await notes.add(f"note {number}")
                await asyncio.sleep(0.002)  # hold the write lock across an await
                await notes.add(f"note {number} again")

        await asyncio.gather(*(add(number) for number in range(60)))
        assert await count_notes(app) == 120


async def test_a_writer_waiting_too_long_for_its_turn_says_why(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite, "BUSY_TIMEOUT_MS", 200)
    app = make_app(sqlite_url)
    async with app.running(), app.unit_of_work("notes") as outer:
        await (await outer.get(Notes)).add("first")  # holds the write lock until it commits
        with pytest.raises(DatabaseBusyError, match="keep writing transactions short"):
            async with app.unit_of_work("notes") as inner:  # the same task: it cannot wait
                await (await inner.get(Notes)).add("second")


async def test_a_writer_waits_for_another_process_and_writes_as_soon_as_it_is_done(
    db_path: Path, held_lock: int, flocks: FlockSpy
) -> None:
    app = make_app(f"sqlite:///{db_path}", events={"dispatch": False})  # no other writer
    async with app.running():
        flocks.calls.clear()  # (the tables' creation)
        fcntl.flock(held_lock, fcntl.LOCK_EX)  # another process is writing
        writing = asyncio.create_task(add_note(app, "after the other process"))
        assert await within(30, lambda: (fcntl.LOCK_EX, "asked") in flocks.calls)
        assert not writing.done()  # waiting for its turn, not failing, not writing
        fcntl.flock(held_lock, fcntl.LOCK_UN)
        await asyncio.wait_for(writing, 30)
        assert await count_notes(app) == 1
    # One try, then a wait in the kernel, which hands the lock over the moment it is let
    # go: no polling, no SQLite back-off sleeps.
    assert flocks.calls == [
        (fcntl.LOCK_EX | fcntl.LOCK_NB, "asked"), (fcntl.LOCK_EX | fcntl.LOCK_NB, "refused"),
        (fcntl.LOCK_EX, "asked"), (fcntl.LOCK_EX, "got"),
        (fcntl.LOCK_UN, "asked"), (fcntl.LOCK_UN, "got"),
    ]  # fmt: skip


async def test_a_writer_gives_up_on_another_process_after_the_timeout_and_leaves_no_lock(
    db_path: Path, held_lock: int, monkeypatch: pytest.MonkeyPatch, flocks: FlockSpy
) -> None:
    monkeypatch.setattr(_sqlite, "BUSY_TIMEOUT_MS", 200)
    app = make_app(f"sqlite:///{db_path}", events={"dispatch": False})  # no other writer
    async with app.running():
        flocks.calls.clear()  # (the tables' creation)
        fcntl.flock(held_lock, fcntl.LOCK_EX)
        with pytest.raises(DatabaseBusyError, match="another process to finish writing"):
            await add_note(app, "never")
        fcntl.flock(held_lock, fcntl.LOCK_UN)
        # The thread still waiting takes the lock, then gives it back.
        assert await within(30, lambda: (fcntl.LOCK_UN, "got") in flocks.calls)
        fcntl.flock(held_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: no process holds it
        fcntl.flock(held_lock, fcntl.LOCK_UN)
        await add_note(app, "later")  # and this process can write again
        assert await count_notes(app) == 1


async def test_writers_of_two_processes_never_meet_a_held_lock(db_path: Path) -> None:
    # With SQLite's own waiting turned off, BEGIN IMMEDIATE fails at once ("database is
    # locked") whenever another writer still holds the lock, so every write below passes
    # only if each turn is given back after its COMMIT has run, never before.
    first, second = make_app(f"sqlite:///{db_path}"), make_app(f"sqlite:///{db_path}")
    async with first.running(), second.running():
        for app in (first, second):
            assert app.database is not None

            @event.listens_for(app.database.engine.sync_engine, "checkout")
            def no_busy_wait(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA busy_timeout=0")
                cursor.close()

        writes = [add_note(app, f"{app_number}-{n}") for n in range(150)
                  for app_number, app in enumerate((first, second))]  # fmt: skip
        await asyncio.gather(*writes)
        assert await count_notes(first) == 300


async def test_a_connection_returned_to_the_pool_mid_transaction_is_rolled_back(
    sqlite_url: str,
) -> None:
    from sqlalchemy.util import greenlet_spawn

    app = make_app(sqlite_url)
    async with app.running():
        assert app.database is not None
        pooled = await app.database.engine.raw_connection()

        def write_and_walk_away() -> None:
            cursor = pooled.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute("INSERT INTO notes__notes (text) VALUES ('half-written')")
            cursor.close()
            pooled.close()  # back to the pool with its transaction open

        await greenlet_spawn(write_and_walk_away)
        await asyncio.wait_for(add_note(app, "next"), 30)  # the lock was let go
        assert await count_notes(app) == 1  # and the half-written row is gone


async def test_only_the_write_engine_has_the_writers_connection_listeners(sqlite_url: str) -> None:
    # A "begin" or "rollback" listener on the engine itself would make every connection, a
    # read's too, join the engine's event dispatch: CPU on each unit of work, for nothing.
    app = make_app(sqlite_url)
    async with app.running():
        assert app.database is not None
        reads = app.database.engine.sync_engine
        writes = app.database.write_engine.sync_engine
        assert (len(reads.dispatch.begin), len(reads.dispatch.rollback)) == (0, 0)
        assert (len(writes.dispatch.begin), len(writes.dispatch.rollback)) == (1, 1)
        begun: list[str] = []

        def record(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
            begun.append(statement)

        event.listen(writes, "before_cursor_execute", record)
        await add_note(app, "written")  # the writers' turn and BEGIN IMMEDIATE, as before
        assert begun[0] == "BEGIN IMMEDIATE"
        assert await count_notes(app) == 1
