"""Dolmen's SQLite driver connection: SQLAlchemy sees a normal asyncio driver; each statement
is one trip to the connection's thread, and a BEGIN waits for the statement it belongs to."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, String, func, insert, select, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from dolmen.persistence import Database, ModuleTables, _sqlite_driver

tables = ModuleTables("items")
items = tables.table(
    "items",
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False, unique=True),
)


ROW = insert(items)
"""One statement, its values bound per call: the same SQL each time."""


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'app.db'}", [tables])
    await database.open(create_tables=True)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions run in the drivers' threads, in order."""
    seen: list[str] = []
    original = _sqlite_driver._Worker.run

    async def run(self: _sqlite_driver._Worker, function: object) -> object:
        seen.append(getattr(function, "__qualname__", repr(function)))
        return await original(self, function)  # type: ignore[arg-type]

    monkeypatch.setattr(_sqlite_driver._Worker, "run", run)
    return seen


async def pooled_busy_timeout(database: Database) -> int:
    """SQLite's busy timeout on a pooled connection of ``database`` (the one just used)."""
    async with database.engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, _sqlite_driver.Connection)
        busy = await driver.execute("PRAGMA busy_timeout")
        return int((await busy.fetchone())[0])


async def test_the_engine_talks_to_sqlite_through_dolmens_driver(database: Database) -> None:
    async with database.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.driver_connection, _sqlite_driver.Connection)


async def test_a_write_transaction_is_one_trip_per_statement_and_none_to_commit(
    database: Database, trips: list[str]
) -> None:
    async with database.write_engine.begin() as connection:
        await connection.execute(insert(items).values(name="a"))
        await connection.execute(insert(items), [{"name": "b"}, {"name": "c"}])
        names = (await connection.execute(select(items.c.name).order_by(items.c.id))).scalars()
        assert list(names) == ["a", "b", "c"]
    # BEGIN IMMEDIATE went with the first INSERT; the COMMIT (fast when the tables were
    # created on this connection) ran here, the write lock held.
    assert len(trips) == 3, trips


async def test_a_transaction_that_runs_nothing_costs_no_trip(
    database: Database, trips: list[str]
) -> None:
    async with database.write_engine.begin():
        pass
    async with database.write_engine.connect() as connection:
        await connection.begin()
        await connection.rollback()
    assert trips == []


async def test_begin_immediate_takes_the_write_lock_with_the_first_statement(
    database: Database, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "app.db", timeout=0, isolation_level=None)
    try:
        async with database.write_engine.connect() as connection:
            await connection.begin()
            await connection.execute(select(func.count()).select_from(items))  # a read...
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")  # ...in a writing transaction holds the lock
            await connection.rollback()
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_rollback_undoes_and_errors_are_sqlalchemys(database: Database) -> None:
    async with database.write_engine.begin() as connection:
        await connection.execute(insert(items).values(name="kept"))
    async with database.write_engine.connect() as connection:
        await connection.begin()
        await connection.execute(insert(items).values(name="dropped"))
        await connection.rollback()
    with pytest.raises(IntegrityError):
        async with database.write_engine.begin() as connection:
            await connection.execute(insert(items).values(name="kept"))
    with pytest.raises(OperationalError, match="no such table"):
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT * FROM missing"))
    async with database.engine.connect() as connection:
        names = (await connection.execute(select(items.c.name))).scalars().all()
    assert names == ["kept"]


@pytest.mark.parametrize(
    ("value", "cause"),
    [(2**63, OverflowError), ("\ud800", UnicodeEncodeError)],
    ids=["int-past-64-bits", "unpaired-surrogate"],
)
async def test_a_value_sqlite3_cannot_bind_is_a_data_error_and_nothing_is_written(
    database: Database, value: object, cause: type[Exception]
) -> None:
    with pytest.raises(DataError, match="a value cannot be stored") as raised:
        async with database.write_engine.begin() as connection:
            await connection.execute(insert(items).values(name="first"))
            await connection.execute(text("SELECT :value"), {"value": value})
    assert isinstance(raised.value.orig, sqlite3.DataError)
    assert isinstance(raised.value.orig.__cause__, cause)  # what sqlite3 said, kept
    async with database.engine.connect() as connection:
        assert (await connection.execute(select(func.count()).select_from(items))).scalar() == 0


async def test_results_larger_than_one_read_are_complete_buffered_and_streamed(
    database: Database,
) -> None:
    count = _sqlite_driver.PREFETCH * 2 + 7
    async with database.write_engine.begin() as connection:
        await connection.execute(insert(items), [{"name": f"n{i}"} for i in range(count)])
    query = select(items.c.id).order_by(items.c.id)
    async with database.engine.connect() as connection:
        ids = (await connection.execute(query)).scalars().all()
        streamed = [row.id async for row in await connection.stream(query)]
        partial = await connection.stream(query)
        first = await partial.fetchmany(3)
        await partial.close()  # rows left unread: the SQLite cursor is closed all the same
        assert (await connection.scalar(select(func.count()).select_from(items))) == count
    assert ids == streamed == list(range(1, count + 1))
    assert [row.id for row in first] == [1, 2, 3]


async def test_rowcount_and_lastrowid_come_back(database: Database) -> None:
    async with database.write_engine.begin() as connection:
        result = await connection.execute(insert(items).values(name="x"))
        assert result.inserted_primary_key == (1,)
        await connection.execute(insert(items), [{"name": "y"}, {"name": "z"}])
        changed = await connection.execute(items.update().values(name=items.c.name + "!"))
        assert changed.rowcount == 3


async def test_a_closed_connection_says_so_and_closing_twice_is_harmless(tmp_path: Path) -> None:
    connection = await _sqlite_driver.connect(str(tmp_path / "raw.db"))
    cursor = await connection.execute("SELECT 1")
    assert await cursor.fetchall() == [(1,)]
    await connection.close()
    await connection.close()
    with pytest.raises(ValueError, match="closed"):
        await connection.execute("SELECT 1")
    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        await _sqlite_driver.connect(str(tmp_path / "no" / "such" / "folder.db"))


async def test_statements_at_commit_go_with_the_commit_or_not_at_all(
    database: Database, trips: list[str]
) -> None:
    row = "INSERT INTO items__items (name) VALUES (:name)"
    async with database.write_engine.connect() as connection:
        await connection.begin()
        driver = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, _sqlite_driver.Connection)
        driver.execute_at_commit(row, [{"name": "a"}, {"name": "b"}])
        assert trips == []  # nothing sent yet
        await connection.commit()
        assert len(trips) == 1  # BEGIN, both rows and COMMIT in one trip
        await connection.begin()
        driver.execute_at_commit(row, [{"name": "rolled back"}])
        await connection.rollback()
        await connection.begin()
        await connection.execute(insert(items).values(name="c"))
        driver.execute_at_commit(row, [{"name": "d"}, {"name": "a"}])  # "a" breaks the unique
        with pytest.raises(IntegrityError):
            await connection.commit()
    async with database.engine.connect() as connection:
        names = (await connection.execute(select(items.c.name).order_by(items.c.id))).scalars()
        assert list(names) == ["a", "b"]  # the failed commit kept nothing, "c" included


async def test_a_statement_fast_so_far_makes_no_trip_while_the_write_lock_is_held(
    database: Database, trips: list[str]
) -> None:
    async with database.write_engine.begin() as connection:
        for name in ("a", "b", "c", "d"):
            await connection.execute(ROW, {"name": name})
    # The first INSERT (with BEGIN IMMEDIATE); the COMMIT, fast when the tables were created
    # on this connection, holding the lock: here.
    assert len(trips) == 1, trips
    async with database.engine.connect() as connection:
        names = (await connection.execute(select(items.c.name).order_by(items.c.id))).scalars()
        assert list(names) == ["a", "b", "c", "d"]


async def test_a_read_fast_so_far_makes_no_trip_outside_a_transaction(
    database: Database, trips: list[str]
) -> None:
    query = select(func.count()).select_from(items)
    async with database.engine.connect() as connection:  # reads, outside a transaction
        for _ in range(3):
            assert await connection.scalar(query) == 0
    assert len(trips) == 1  # the first read, timed; the next ones here
    assert await pooled_busy_timeout(database) > 0  # given back after the reads here


async def test_reads_here_one_after_the_other_set_the_busy_timeout_once(
    tmp_path: Path, trips: list[str]
) -> None:
    driver = await _sqlite_driver.connect(str(tmp_path / "reads.db"))
    try:
        await driver.execute("PRAGMA busy_timeout=30000")
        await driver.execute("CREATE TABLE t (n INTEGER)")
        read = "SELECT count(*) FROM t"
        assert await (await driver.execute(read)).fetchone() == (0,)  # a trip: fast from now
        ran: list[str] = []
        driver._conn.set_trace_callback(ran.append)
        before = len(trips)
        for _ in range(3):
            assert await (await driver.execute(read)).fetchone() == (0,)
        assert len(trips) == before  # each here, at 0 from the first to the last
        assert ran == ["PRAGMA busy_timeout", "PRAGMA busy_timeout=0", read, read, read]
        ran.clear()
        await driver.execute("INSERT INTO t VALUES (1)")  # a trip: the timeout back first
        assert ran == ["PRAGMA busy_timeout=30000", "INSERT INTO t VALUES (1)"]
        assert await (await driver.execute(read)).fetchone() == (1,)  # here, at 0 again
        assert ran[-2:] == ["PRAGMA busy_timeout=0", read]
        assert await (await driver.execute("PRAGMA busy_timeout")).fetchone() == (30000,)
    finally:
        await driver.close()


async def test_in_a_transaction_without_the_write_lock_every_statement_makes_its_trip(
    tmp_path: Path, trips: list[str]
) -> None:
    driver = await _sqlite_driver.connect(str(tmp_path / "deferred.db"))
    try:
        await driver.execute("BEGIN")  # deferred: no lock until a statement needs one
        for _ in range(3):
            assert await (await driver.execute("SELECT 1")).fetchone() == (1,)
        assert len(trips) == 4  # connecting, then each SELECT (the first with the BEGIN)
        await driver.rollback()
    finally:
        await driver.close()


async def test_a_read_run_here_streams_the_rest_of_its_rows_from_the_thread(
    database: Database, trips: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite_driver, "PREFETCH", 4)  # rows read with the statement
    async with database.write_engine.begin() as connection:
        await connection.execute(insert(items), [{"name": f"n{i}"} for i in range(10)])
    query = select(items.c.id).order_by(items.c.id)
    async with database.engine.connect() as connection:
        ids = (await connection.execute(query)).scalars().all()  # a trip: fast from now on
        before = len(trips)
        streamed = [row.id async for row in await connection.stream(query)]
    assert ids == streamed == list(range(1, 11))
    assert trips[before:] == ["Cursor._more.<locals>.run"] * 2  # rows 5-8, then 9-10


async def test_a_statement_that_is_not_a_select_makes_its_trip_outside_a_transaction(
    database: Database, trips: list[str]
) -> None:
    async with database.engine.connect() as connection:
        for name in ("a", "b", "c"):
            await connection.execute(ROW, {"name": name})  # autocommit: each its own write
    assert len(trips) == 3


async def test_a_read_slower_than_the_limit_keeps_making_its_trip(
    database: Database, trips: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite_driver, "FAST_SECONDS", 0.0)  # every statement is too slow
    query = select(func.count()).select_from(items)
    async with database.engine.connect() as connection:
        for _ in range(3):
            assert await connection.scalar(query) == 0
    assert len(trips) == 3


async def test_a_read_never_waits_here_for_a_lock_held_elsewhere(
    tmp_path: Path, trips: list[str]
) -> None:
    path = str(tmp_path / "journal.db")  # a rollback journal: a writer's lock stops readers
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE t (n INTEGER)")
    other.execute("INSERT INTO t VALUES (1)")
    driver = await _sqlite_driver.connect(path)
    try:
        await driver.execute("PRAGMA busy_timeout=30000")
        read = "SELECT count(*) FROM t"
        assert await (await driver.execute(read)).fetchone() == (1,)  # a trip: fast from now
        before = len(trips)
        other.execute("BEGIN EXCLUSIVE")
        try:
            other.execute("INSERT INTO t VALUES (2)")
            waiting = asyncio.create_task(driver.execute(read))
            for _ in range(20):  # the event loop turns: the wait is in the driver's thread
                await asyncio.sleep(0)
            assert not waiting.done()
            assert len(trips) == before + 1  # tried here without waiting, then sent there
        finally:
            other.execute("COMMIT")
        assert await (await waiting).fetchone() == (2,)
        assert await (await driver.execute("PRAGMA busy_timeout")).fetchone() == (30000,)
    finally:
        await driver.close()
        other.close()


async def test_a_statement_slower_than_the_limit_keeps_making_its_trip(
    database: Database, trips: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite_driver, "FAST_SECONDS", 0.0)  # every statement is too slow
    async with database.write_engine.begin() as connection:
        for name in ("a", "b", "c"):
            await connection.execute(ROW, {"name": name})
    assert len(trips) == 3  # three statements (the COMMIT, known fast, here)


async def test_a_statement_failing_without_a_trip_fails_as_usual_and_the_transaction_goes_on(
    database: Database, trips: list[str]
) -> None:
    async with database.write_engine.connect() as connection:
        await connection.begin()
        await connection.execute(ROW, {"name": "a"})
        await connection.execute(ROW, {"name": "b"})
        with pytest.raises(IntegrityError):
            await connection.execute(ROW, {"name": "a"})  # no trip: known fast
        await connection.execute(ROW, {"name": "c"})
        await connection.commit()
    assert len(trips) == 1  # the first INSERT; the others and the COMMIT here
    async with database.engine.connect() as connection:
        names = (await connection.execute(select(items.c.name).order_by(items.c.id))).scalars()
        assert list(names) == ["a", "b", "c"]


async def test_statements_run_without_trips_give_the_event_loop_to_other_tasks(
    database: Database,
) -> None:
    turns = 0
    stopped = asyncio.Event()

    async def other_task() -> None:
        nonlocal turns
        while not stopped.is_set():
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other_task())
    async with database.write_engine.begin() as connection:
        await connection.execute(ROW, {"name": "first"})  # its trip: known fast from now on
        before = turns
        for number in range(100):
            await connection.execute(ROW, {"name": f"n{number}"})
        during = turns - before
    stopped.set()
    await task
    assert during >= 100 // _sqlite_driver._YIELD_EVERY


async def _insert_named(database: Database, name: str) -> int:
    """One named transaction (as the outbox's claim runs): an INSERT, its rows counted."""

    def work(raw: sqlite3.Connection) -> int:
        raw.execute("INSERT INTO items__items (name) VALUES (?)", (name,))
        return int(raw.execute("SELECT count(*) FROM items__items").fetchone()[0])

    async with database.write_engine.connect() as connection:
        await connection.begin()
        driver = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, _sqlite_driver.Connection)
        count = await driver.run_in_transaction(work, name="test.insert")
        await connection.commit()
        return count


async def test_a_named_transaction_fast_so_far_runs_without_a_trip(
    database: Database, trips: list[str]
) -> None:
    assert await _insert_named(database, "a") == 1  # its first run: a trip, timed
    assert len(trips) == 1
    for number, name in enumerate(("b", "c", "d"), start=2):
        assert await _insert_named(database, name) == number
    assert len(trips) == 1, trips  # the next ones: BEGIN IMMEDIATE and all, here
    async with database.engine.connect() as connection:
        names = (await connection.execute(select(items.c.name).order_by(items.c.id))).scalars()
        assert list(names) == ["a", "b", "c", "d"]


async def test_a_named_transaction_slower_than_the_limit_keeps_making_its_trip(
    database: Database, trips: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite_driver, "INLINE_SECONDS", -1.0)  # every run is too slow
    for name in ("a", "b", "c"):
        await _insert_named(database, name)
    assert len(trips) == 3


async def test_a_named_transaction_never_waits_here_for_a_lock_held_elsewhere(
    database: Database, trips: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _insert_named(database, "a")  # known fast from now on
    await _insert_named(database, "b")
    assert len(trips) == 1
    began: list[bool] = []
    original = _sqlite_driver.Connection._began

    def spy(self: _sqlite_driver.Connection, held: list[str]) -> bool:
        began.append(original(self, held))
        return began[-1]

    monkeypatch.setattr(_sqlite_driver.Connection, "_began", spy)
    other = sqlite3.connect(tmp_path / "app.db", isolation_level=None)  # not Dolmen's writer
    other.execute("BEGIN IMMEDIATE")
    try:
        waiting = asyncio.create_task(_insert_named(database, "c"))
        for _ in range(20):  # the event loop turns: the wait is in the driver's thread
            await asyncio.sleep(0)
        assert not waiting.done()
        assert began == [False]  # tried here without waiting: the lock was taken
        assert len(trips) == 2  # so sent to the thread, which waits with the busy timeout
    finally:
        other.execute("COMMIT")
        other.close()
    assert await waiting == 3
    assert await pooled_busy_timeout(database) > 0  # given back after the attempt here


async def test_a_named_transaction_failing_here_rolls_back_and_raises(
    database: Database, trips: list[str]
) -> None:
    await _insert_named(database, "a")
    with pytest.raises(sqlite3.IntegrityError):
        await _insert_named(database, "a")  # here, without a trip: the unique name
    assert len(trips) == 1
    assert await _insert_named(database, "b") == 2


async def test_a_commit_runs_here_only_once_commits_proved_fast_and_the_lock_is_held(
    tmp_path: Path, trips: list[str]
) -> None:
    connection = await _sqlite_driver.connect(str(tmp_path / "plain.db"))
    try:
        await connection.execute("PRAGMA journal_mode=WAL")  # as Database sets it up
        await connection.execute("PRAGMA synchronous=NORMAL")
        await connection.execute("CREATE TABLE t (x INTEGER)")
        del trips[:]
        for value in range(3):
            await connection.execute("BEGIN IMMEDIATE")  # held back: goes with the INSERT
            await connection.execute("INSERT INTO t VALUES (?)", (value,))
            await connection.commit()
        assert len(trips) == 4, trips  # the three INSERTs, the first COMMIT (timed)
        await connection.execute("BEGIN")  # a read transaction: no write lock held
        await connection.execute("SELECT count(*) FROM t")
        await connection.commit()
        assert len(trips) == 6  # its COMMIT went to the thread
    finally:
        await connection.close()
