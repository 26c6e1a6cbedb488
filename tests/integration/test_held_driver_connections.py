"""``Database.driver()`` on PostgreSQL: a pooled connection lent as asyncpg's own, kept out
of the pool for the next statement; one that failed, or that the server closed, is never
lent again; the kept one goes back when the database closes; a pool of fewer than 3 keeps
none. On SQLite it refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text

from dolmen.persistence import Database
from tests.waiting import within


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[Database]:
    database = Database(postgres_url, [])
    await database.open()
    try:
        yield database
    finally:
        await database.close()


async def backend(database: Database) -> tuple[Any, int]:
    """The driver connection ``driver()`` lends now, and its server process."""
    async with database.driver() as driver:
        return driver, int(await driver.fetchval("SELECT pg_backend_pid()"))


@pytest.mark.postgres
async def test_a_lent_connection_is_kept_for_the_next_use_outside_any_transaction(
    database: Database,
) -> None:
    await backend(database)
    assert database.engine.pool.checkedout() == 1  # type: ignore[attr-defined]  # kept
    async with database.driver() as first:
        assert not first.is_in_transaction()  # each statement commits by itself
        pid = await first.fetchval("SELECT pg_backend_pid()")
        async with database.driver() as second:  # lent at once: another connection
            other = await second.fetchval("SELECT pg_backend_pid()")
            assert other != pid
    # The one given back first is kept, the other went back to the pool.
    assert (await backend(database))[1] == other
    assert (await backend(database))[1] == other


@pytest.mark.postgres
async def test_a_connection_whose_statement_failed_is_not_lent_again(database: Database) -> None:
    driver, pid = await backend(database)
    with pytest.raises(Exception, match="syntax"):
        async with database.driver() as kept:
            assert kept is driver
            await kept.execute("SELEC 1")
    assert driver.is_closed()
    assert (await backend(database))[1] != pid


@pytest.mark.postgres
async def test_a_connection_the_server_closed_is_replaced_before_it_is_lent(
    database: Database,
) -> None:
    driver, pid = await backend(database)
    async with database.engine.connect() as connection:  # as a restart of the server would
        await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert await within(30.0, driver.is_closed)  # asyncpg has read the server's goodbye
    async with database.driver() as replaced:
        assert await replaced.fetchval("SELECT 1") == 1
        assert replaced is not driver


@pytest.mark.postgres
async def test_closing_the_database_gives_the_kept_connection_back(database: Database) -> None:
    driver, _ = await backend(database)
    await database.close()
    assert driver.is_closed()  # the engine's disposal closed it with the pool
    with pytest.raises(RuntimeError, match="not open"):
        database.driver()


@pytest.mark.postgres
async def test_a_pool_of_two_keeps_no_connection_out_of_it(postgres_url: str) -> None:
    database = Database(postgres_url, [], pool_size=1, max_overflow=1)
    await database.open()
    try:
        await backend(database)
        assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await database.close()


async def test_sqlite_has_no_driver_connection_to_lend(sqlite_url: str) -> None:
    database = Database(sqlite_url, [])
    await database.open()
    try:
        with pytest.raises(RuntimeError, match="PostgreSQL"):
            database.driver()
    finally:
        await database.close()
