"""Units of work nested in one transaction, each in a savepoint: undone alone, kept together."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, String, func, insert, select
from sqlalchemy.exc import IntegrityError

from dolmen.persistence import Database, ModuleTables, UnitOfWork, _sqlite_driver

tables = ModuleTables("items")
items = tables.table(
    "items",
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False, unique=True),
)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, [tables])
    await database.open(create_tables=True)
    try:
        yield database
    finally:
        await database.close()


async def names(database: Database) -> list[str]:
    async with database.engine.connect() as connection:
        return list(await connection.scalars(select(items.c.name).order_by(items.c.name)))


async def add(uow: UnitOfWork, name: str) -> None:
    session = await uow.session("items")
    await session.execute(insert(items).values(name=name))


async def test_a_nested_unit_of_work_that_fails_undoes_only_its_own_writes(
    database: Database,
) -> None:
    outer = UnitOfWork(database)
    first = outer.nested()
    await add(first, "a")
    await first.commit()
    failing = outer.nested()
    await add(failing, "b")
    with pytest.raises(IntegrityError):
        await add(failing, "a")  # a duplicate: the database refuses it
    await failing.rollback()
    last = outer.nested()
    await add(last, "c")
    await last.commit()
    assert await names(database) == []  # nothing is committed before the outer commit
    await outer.commit()
    assert await names(database) == ["a", "c"]


async def test_nested_commits_wait_for_the_outer_one_and_its_rollback_undoes_them(
    database: Database,
) -> None:
    committed: list[str] = []
    outer = UnitOfWork(database)
    nested = outer.nested()
    await add(nested, "a")
    nested.after_commit(lambda: committed.append("a"))
    await nested.commit()
    assert committed == []  # not before the transaction commits
    await outer.rollback()
    assert committed == []
    assert await names(database) == []

    outer = UnitOfWork(database)
    nested = outer.nested()
    await add(nested, "b")
    nested.after_commit(lambda: committed.append("b"))
    await nested.commit()
    await outer.commit()
    assert committed == ["b"]
    assert await names(database) == ["b"]


async def test_a_read_only_unit_of_work_has_no_nested_ones(database: Database) -> None:
    with pytest.raises(TypeError, match="read-only unit of work has no transaction"):
        UnitOfWork(database, write=False).nested()


async def test_on_sqlite_a_nested_unit_of_work_costs_no_trip_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips: list[str] = []
    original = _sqlite_driver._Worker.run

    async def run(self: _sqlite_driver._Worker, function: object) -> object:
        trips.append(getattr(function, "__qualname__", repr(function)))
        return await original(self, function)  # type: ignore[arg-type]

    database = Database(f"sqlite:///{tmp_path / 'app.db'}", [tables])
    await database.open(create_tables=True)
    try:
        outer = UnitOfWork(database)
        connection = await outer.connection()
        await connection.execute(select(func.count()).select_from(items))  # BEGIN went here
        monkeypatch.setattr(_sqlite_driver._Worker, "run", run)
        for name in ("a", "b", "c"):
            nested = outer.nested()
            await (await nested.connection()).execute(insert(items).values(name=name))
            await nested.commit()
        assert len(trips) == 3  # one per INSERT: each SAVEPOINT went with it
        await outer.commit()
    finally:
        await database.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "app.db")) as stored:
        rows = stored.execute("SELECT name FROM items__items ORDER BY 1").fetchall()
    assert [name for (name,) in rows] == ["a", "b", "c"]


async def test_a_nested_unit_of_work_without_a_savepoint_writes_in_the_outer_transaction(
    database: Database,
) -> None:
    outer = UnitOfWork(database)
    joined = outer.nested(savepoint=False)
    await add(joined, "a")
    await joined.commit()
    failing = outer.nested(savepoint=False)
    await add(failing, "b")
    await failing.rollback()  # undoes nothing alone: whoever nested it rolls back the outer
    assert await names(database) == []
    await outer.commit()
    assert await names(database) == ["a", "b"]
