"""Units of work on SQLite and PostgreSQL: commit, rollback, module-owned tables, events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from dolmen import App
from dolmen.events import ForeignEventError
from dolmen.persistence import CrossModuleDataAccessError

from .notes_app import Audit, NoteAdded, Notes, make_app


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[App]:
    app = make_app(database_url)
    async with app.running():
        yield app


async def count(app: App, module: str, service: type[Notes] | type[Audit]) -> int:
    async with app.unit_of_work(module) as work:
        instance: Notes | Audit = await work.get(service)
        return await instance.count()


async def test_each_module_owns_its_tables_by_prefix_or_schema(app: App) -> None:
    assert app.database is not None
    async with app.database.engine.connect() as connection:
        if app.database.is_sqlite:
            query = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            names = [row[0] for row in await connection.execute(text(query))]
            assert names == [
                "audit__entries", "dolmen__deliveries", "dolmen__dispatchers", "dolmen__received",
                "notes__notes",
            ]  # fmt: skip
        else:
            query = (
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema IN ('notes', 'audit') ORDER BY 1"
            )
            names = [row[0] for row in await connection.execute(text(query))]
            assert names == ["audit.audit__entries", "notes.notes__notes"]


async def test_a_unit_of_work_commits_when_the_block_succeeds(app: App) -> None:
    async with app.unit_of_work("notes") as work:
        await (await work.get(Notes)).add("kept")
    assert await count(app, "notes", Notes) == 1


async def test_a_unit_of_work_rolls_back_everything_when_the_block_fails(app: App) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with app.unit_of_work("notes") as work:
            await (await work.get(Notes)).add("lost")
            raise RuntimeError("boom")
    await app.drain_events()
    assert await count(app, "notes", Notes) == 0
    assert await count(app, "audit", Audit) == 0


async def test_one_transaction_spans_every_module_in_the_unit_of_work(app: App) -> None:
    with pytest.raises(RuntimeError):
        async with app.unit_of_work("notes") as work:
            await (await work.get(Notes)).add("first")
            await (await work.get(Audit, module="audit")).record("second")
            raise RuntimeError("undo both")
    assert await count(app, "notes", Notes) == 0
    assert await count(app, "audit", Audit) == 0


async def test_a_module_cannot_query_another_modules_table(app: App) -> None:
    with pytest.raises(CrossModuleDataAccessError, match="module 'notes' used table"):
        async with app.unit_of_work("notes") as work:
            await (await work.get(Notes)).peek_at_audit()


async def test_a_unit_of_work_opens_its_connection_only_when_a_session_is_needed(
    app: App,
) -> None:
    from dolmen import EventPublisher

    async with app.unit_of_work("notes") as work:
        await work.get(EventPublisher)
        assert not work.uow.touched_database
        await work.get(Notes)
        assert work.uow.touched_database


async def test_a_unit_of_work_is_empty_until_something_is_in_its_transaction(app: App) -> None:
    async with app.unit_of_work("notes") as work:
        assert work.uow.empty
        work.uow.before_commit(lambda: asyncio.sleep(0))
        assert not work.uow.empty  # the callback runs in the transaction
    async with app.unit_of_work("notes") as work:
        await work.get(Notes)  # its session's connection
        assert not work.uow.empty
    async with app.unit_of_work("notes") as work:
        assert not work.uow.nested().empty  # in another's transaction
    async with app.unit_of_work("notes", write=False) as work:
        assert not work.uow.empty  # read-only: no transaction


async def test_a_committed_event_reaches_its_handler_in_its_own_unit_of_work(app: App) -> None:
    async with app.unit_of_work("notes") as work:
        await (await work.get(Notes)).add("hello")
    await app.drain_events()
    assert await count(app, "audit", Audit) == 1


async def test_a_failing_handler_is_retried_then_dead_and_does_not_undo_the_publisher(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dolmen.events"):
        async with app.unit_of_work("notes") as work:
            await (await work.get(Notes)).add("poison")
        await app.drain_events(retries=True)
    assert await count(app, "notes", Notes) == 1
    assert await count(app, "audit", Audit) == 0
    assert "failed (try 1 of 3), retrying" in caplog.text
    assert "is dead after 3 tries: ValueError: audit refuses poison" in caplog.text
    [dead] = await app.events.dead_letters()
    assert (dead.handler, dead.event_type, dead.attempts) == (
        "audit.record_note",
        "notes.NoteAdded",
        3,
    )
    assert dead.error == "ValueError: audit refuses poison"
    assert dead.traceback is not None
    assert "audit refuses poison" in dead.traceback


async def test_a_module_cannot_publish_another_modules_event(app: App) -> None:
    from dolmen import EventPublisher

    with pytest.raises(ForeignEventError, match=r"module 'audit' published 'notes\.NoteAdded'"):
        async with app.unit_of_work("audit") as work:
            (await work.get(EventPublisher)).publish(NoteAdded(text="x"))


async def test_a_module_cannot_write_another_modules_table_through_the_orm(app: App) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    from .notes_app import AuditEntry

    entry = AuditEntry()
    entry.what = "forged"
    with pytest.raises(CrossModuleDataAccessError, match="module 'notes' used table"):
        async with app.unit_of_work("notes") as work:
            session: AsyncSession = await work.get(AsyncSession)
            session.add(entry)
    assert await count(app, "audit", Audit) == 0


async def test_a_read_only_unit_of_work_refuses_to_change_data(app: App) -> None:
    from dolmen.persistence import ReadOnlyWorkError

    with pytest.raises(ReadOnlyWorkError, match="module 'notes' tried to write in a read-only"):
        async with app.unit_of_work("notes", write=False) as work:
            await (await work.get(Notes)).add("sneaky")
    assert await count(app, "notes", Notes) == 0


async def test_a_read_only_unit_of_work_reads_what_was_committed(app: App) -> None:
    async with app.unit_of_work("notes") as work:
        await (await work.get(Notes)).add("visible")
    async with app.unit_of_work("notes", write=False) as work:
        assert await (await work.get(Notes)).count() == 1


async def test_a_statement_found_clean_for_one_module_is_still_refused_for_another(
    app: App,
) -> None:
    assert await count(app, "audit", Audit) == 0  # audit's own count: clean, remembered
    with pytest.raises(CrossModuleDataAccessError):
        async with app.unit_of_work("notes") as work:
            await (await work.get(Notes)).peek_at_audit()  # the same statement shape


async def test_the_connection_pool_is_sized_by_the_app_settings(database_url: str) -> None:
    from dolmen import App

    from .notes_app import audit_module, notes_module

    config = {"app": {"database_url": database_url, "db_pool_size": 3, "db_max_overflow": 1}}
    app = App("notes", [notes_module, audit_module], config=config)
    async with app.running():
        assert app.database is not None
        pool = app.database.engine.sync_engine.pool
        assert (pool.size(), pool._max_overflow) == (3, 1)  # type: ignore[attr-defined]
