"""A unit of work whose only writes are its events: on PostgreSQL the outbox's INSERT is its
whole transaction, committed by itself (one round trip instead of BEGIN, INSERT, COMMIT), run
on asyncpg's connection (without SQLAlchemy's cost); its events are delivered as any others,
a unit of work that fails publishes nothing, and a value the database refuses is reported as
through SQLAlchemy."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from dolmen import App, EventPublisher

from .ledger_app import Behaviour, Deposited, Ledger, make_app
from .test_durable_events import rows

HANDLERS = ("count", "ordered")  # as the tally records them


INSERT = "INSERT INTO dolmen.dolmen__deliveries"


class OutboxInserts:
    """How each INSERT into the outbox ran: through SQLAlchemy, its connection's isolation
    level (None: in a transaction); on the driver, "driver" (outside any transaction) or
    "driver, in a transaction"."""

    def __init__(self) -> None:
        self.levels: list[str | None] = []

    def __call__(self, connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith(INSERT):
            self.levels.append(connection.get_execution_options().get("isolation_level"))


class DriverSpy:
    """asyncpg's connection as lent by ``Database.driver()``, its outbox INSERTs recorded."""

    def __init__(self, driver: Any, seen: OutboxInserts) -> None:
        self._driver, self._seen = driver, seen

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._driver, name)
        if name not in ("execute", "executemany"):
            return method

        async def recorded(sql: str, *args: Any) -> Any:
            if sql.startswith(INSERT):
                inside = self._driver.is_in_transaction()
                self._seen.levels.append("driver, in a transaction" if inside else "driver")
            return await method(sql, *args)

        return recorded


@pytest.fixture
def inserts(app: App) -> Iterator[OutboxInserts]:
    database = app.database
    assert database is not None
    engine = database.engine.sync_engine
    seen = OutboxInserts()
    event.listen(engine, "before_cursor_execute", seen)
    if not database.is_sqlite:
        lend = database.driver

        @contextlib.asynccontextmanager
        async def spied() -> AsyncIterator[Any]:
            async with lend() as driver:
                yield DriverSpy(driver, seen)

        database.driver = spied  # type: ignore[method-assign]
    yield seen
    event.remove(engine, "before_cursor_execute", seen)


@pytest.fixture
async def app(database_url: str) -> Any:
    app = make_app(database_url, Behaviour())
    async with app.running():
        yield app


async def publish_only(app: App, account: str, amount: int) -> None:
    async with app.unit_of_work("ledger") as work:
        (await work.get(EventPublisher)).publish(Deposited(account=account, amount=amount))


async def test_events_published_by_a_unit_of_work_that_wrote_nothing_else_are_delivered(
    app: App, inserts: OutboxInserts
) -> None:
    await publish_only(app, "ada", 5)
    await publish_only(app, "bob", 7)
    await app.drain_events()
    for handler in HANDLERS:  # one delivery per handler: two rows per INSERT
        assert sorted((a, n) for _, a, n in await rows(app, handler)) == [("ada", 5), ("bob", 7)]
    assert app.database is not None
    if not app.database.is_sqlite:  # each INSERT was its transaction, committed by itself
        assert inserts.levels == ["driver", "driver"]


async def test_events_of_a_unit_of_work_that_also_wrote_commit_in_its_transaction(
    app: App, inserts: OutboxInserts
) -> None:
    async with app.unit_of_work("ledger") as work:
        await (await work.get(Ledger)).deposit("ada", 3)  # a row of its own, then the event
    await app.drain_events()
    assert [(a, n) for _, a, n in await rows(app, HANDLERS[0])] == [("ada", 3)]
    assert app.database is not None
    if not app.database.is_sqlite:
        assert inserts.levels == [None]  # in the unit of work's transaction


async def test_a_unit_of_work_that_fails_after_publishing_publishes_nothing(
    app: App, inserts: OutboxInserts
) -> None:
    with pytest.raises(RuntimeError, match="refused"):
        async with app.unit_of_work("ledger") as work:
            (await work.get(EventPublisher)).publish(Deposited(account="ada", amount=1))
            raise RuntimeError("refused")
    await publish_only(app, "bob", 2)
    await app.drain_events()
    assert [(a, n) for _, a, n in await rows(app, HANDLERS[0])] == [("bob", 2)]
    assert len(inserts.levels) == (1 if app.database and not app.database.is_sqlite else 0)


async def test_a_subject_the_database_cannot_store_is_refused_as_through_sqlalchemy(
    app: App, inserts: OutboxInserts
) -> None:
    assert app.database is not None
    if app.database.is_sqlite:
        pytest.skip("SQLite stores a text of any length in a VARCHAR(200)")
    with pytest.raises(DBAPIError, match="too long"):  # a 422 over HTTP, not a 500
        async with app.unit_of_work("ledger") as work:
            publisher = await work.get(EventPublisher)
            publisher.publish(Deposited(account="ada", amount=1), subject="x" * 201)
    await publish_only(app, "bob", 2)
    await app.drain_events()
    assert [(a, n) for _, a, n in await rows(app, HANDLERS[0])] == [("bob", 2)]
    assert inserts.levels == ["driver", "AUTOCOMMIT", "driver"]  # refused, then SQLAlchemy's
