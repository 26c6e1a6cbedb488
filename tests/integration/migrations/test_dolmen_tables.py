"""Dolmen's own tables are migrated: a database made by the release before migrations
(commit 85a3f70, kept as SQL under previous_release/) is upgraded, its deliveries kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from dolmen.events import OUTBOX_TABLES
from dolmen.migrations import Migrations, SchemaNotCurrentError, prepare_schema
from dolmen.persistence import Database

PREVIOUS = Path(__file__).with_name("previous_release")


async def load_previous_release(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(str(parsed.database))
        connection.executescript((PREVIOUS / "outbox_85a3f70.sqlite.sql").read_text())
        connection.close()
        return
    asyncpg = pytest.importorskip("asyncpg")
    raw = await asyncpg.connect(parsed.set(drivername="postgresql").render_as_string(False))
    try:
        await raw.execute((PREVIOUS / "outbox_85a3f70.postgresql.sql").read_text())
    finally:
        await raw.close()


async def test_a_database_of_the_release_before_migrations_is_upgraded_with_its_deliveries(
    database_url: str,
) -> None:
    await load_previous_release(database_url)
    database = Database(database_url, [OUTBOX_TABLES])
    await database.open()
    try:
        migrations = Migrations.of([])
        with pytest.raises(SchemaNotCurrentError, match="run 'dolmen db upgrade'"):
            await prepare_schema(database, [], "check")  # nothing changed behind its back
        assert await migrations.upgrade(database) == [
            "dolmen: recorded at dolmen_0001 (an outbox made without migrations)",
            "dolmen: dolmen_0001 -> dolmen_0003",
        ]
        await prepare_schema(database, [], "check")
        prefix = "" if database.is_sqlite else "dolmen."
        async with database.engine.connect() as connection:
            kept = await connection.execute(text(f"SELECT handler FROM {prefix}dolmen__deliveries"))
            assert kept.all() == [("billing.charge_order",)]
            running = await connection.execute(
                text(f"SELECT count(*) FROM {prefix}dolmen__dispatchers")
            )
            assert running.scalar() == 0
    finally:
        await database.close()


async def test_an_outbox_created_at_start_up_in_development_is_adopted_by_the_upgrade(
    database_url: str,
) -> None:
    database = Database(database_url, [OUTBOX_TABLES])
    await database.open(create_tables=True)  # [app] database_schema = "create"
    try:
        migrations = Migrations.of([])
        assert await migrations.upgrade(database) == [
            "dolmen: recorded at dolmen_0003 (an outbox made without migrations)"
        ]
        assert await migrations.problems(database) == []
    finally:
        await database.close()


@pytest.mark.parametrize("schema", ["check", "migrate", "create"])
async def test_start_up_changes_the_schema_only_as_the_setting_says(
    database_url: str, schema: str
) -> None:
    from dolmen import App, Module

    app = App(
        "x",
        modules=[Module("a", package="x")],
        config={"app": {"database_url": database_url, "database_schema": schema}},
    )
    if schema == "check":
        with pytest.raises(SchemaNotCurrentError) as refused:
            await app.start()
        assert str(refused.value).splitlines()[1:] == [
            "  module 'dolmen' is at no revision, behind: code has dolmen_0003",
            "run 'dolmen db upgrade' to apply them (or set [app] database_schema = \"migrate\" "
            'to apply them at start-up; database_schema = "create" creates tables without '
            "migrations, for development)",
        ]
        assert not app.started
        return
    async with app.running():
        assert app.database is not None
        current = await Migrations.of(app.modules).current(app.database)
    assert current == {"dolmen": ("dolmen_0003",) if schema == "migrate" else ()}
