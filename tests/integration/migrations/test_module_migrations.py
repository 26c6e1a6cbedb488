"""Each module's migrations, up and down on SQLite and PostgreSQL, in dependency order, each
confined to the module's own tables."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, String, inspect, text

from dolmen import App, Module, ModuleTables
from dolmen.migrations import CrossModuleMigrationError, Migrations
from dolmen.persistence import Database

HAND_WRITTEN = '''"""{message}."""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    {body}


def downgrade() -> None:
    pass
'''

ModuleFactory = Callable[..., Module]


@pytest.fixture
def make_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleFactory:
    """A module in a package of its own (a fresh one per test), with ``columns`` in a table."""
    monkeypatch.syspath_prepend(str(tmp_path))
    suffix = uuid.uuid4().hex[:8]

    def make(name: str, *columns: Column[object], depends_on: tuple[str, ...] = ()) -> Module:
        package = f"{name}_{suffix}"
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
        tables = ModuleTables(name)
        tables.table("items", Column("id", Integer, primary_key=True), *columns)
        return Module(name, tables=tables, depends_on=depends_on, package=package)

    return make


async def opened(url: str, *modules: Module) -> Database:
    database = Database(url, [m.tables for m in modules if m.tables is not None])
    await database.open()
    return database


async def columns(database: Database, table: str, schema: str) -> list[str]:
    async with database.engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: (
                [
                    c["name"]
                    for c in inspect(sync).get_columns(
                        table, schema=None if database.is_sqlite else schema
                    )
                ]
                if inspect(sync).has_table(table, schema=None if database.is_sqlite else schema)
                else []
            )
        )


async def test_a_module_s_migrations_go_up_and_down_keeping_its_data(
    database_url: str, make_module: ModuleFactory
) -> None:
    first = make_module("ledger", Column("label", String(50), nullable=False))
    await Migrations.of([first]).revision("ledger", "Create the ledger", autogenerate=True)
    database = await opened(database_url, first)
    try:
        assert await Migrations.of([first]).upgrade(database) == [
            "dolmen: nothing -> dolmen_0003",
            "ledger: nothing -> ledger_0001",
        ]
        async with database.write_engine.begin() as connection:
            table = "ledger__items" if database.is_sqlite else "ledger.ledger__items"
            await connection.execute(text(f"INSERT INTO {table} (id, label) VALUES (1, 'a')"))

        # The model gains a column: the check sees it, autogenerate writes it (SQLite: batch).
        second = make_module("ledger", Column("label", String(50), nullable=False),
                             Column("amount", Integer, nullable=True))  # fmt: skip
        migrations = Migrations.of([second])
        [drift] = await migrations.check()
        assert "module 'ledger'" in drift
        assert "amount" in drift
        written = await migrations.revision("ledger", "Add an amount", autogenerate=True)
        assert written is not None
        assert written.name == "ledger_0002_add_an_amount.py"
        assert await migrations.check() == []
        assert await migrations.upgrade(database) == ["ledger: ledger_0001 -> ledger_0002"]
        assert await columns(database, "ledger__items", "ledger") == ["id", "label", "amount"]
        assert await migrations.problems(database) == []

        assert await migrations.downgrade(database, "ledger", "-1") == [
            "ledger: ledger_0002 -> ledger_0001"
        ]
        assert await columns(database, "ledger__items", "ledger") == ["id", "label"]
        async with database.engine.connect() as connection:
            table = "ledger__items" if database.is_sqlite else "ledger.ledger__items"
            assert (await connection.execute(text(f"SELECT label FROM {table}"))).all() == [("a",)]
        [behind] = await migrations.problems(database)
        assert behind == "module 'ledger' is at ledger_0001, behind: code has ledger_0002"

        await migrations.downgrade(database, "ledger", "base")
        assert await columns(database, "ledger__items", "ledger") == []
    finally:
        await database.close()


async def test_upgrade_runs_the_modules_in_dependency_order(
    sqlite_url: str, make_module: ModuleFactory
) -> None:
    stock = make_module("stock", Column("sku", String(20)))
    sales = make_module("sales", Column("sku", String(20)), depends_on=("stock",))
    app = App("x", modules=[sales, stock])  # listed in the wrong order on purpose
    migrations = Migrations.of(app.modules)
    written = [
        await migrations.revision(module, f"Create {module}", autogenerate=True)
        for module in ("sales", "stock")
    ]
    sales_revision = written[0].read_text() if written[0] is not None else ""
    assert "sales__items" in sales_revision
    assert "stock__" not in sales_revision  # autogenerate sees the module's own tables only
    assert await migrations.check() == []  # nor does the check compare the others'
    database = await opened(sqlite_url, sales, stock)
    try:
        assert await migrations.upgrade(database) == [
            "dolmen: nothing -> dolmen_0003",
            "stock: nothing -> stock_0001",
            "sales: nothing -> sales_0001",
        ]
    finally:
        await database.close()


@pytest.mark.parametrize(
    "body",
    [
        'op.add_column("stock__items", sa.Column("stolen", sa.Integer()))',
        'op.execute("DELETE FROM stock__items")',
        'with op.batch_alter_table("stock__items") as batch:\n'
        '        batch.add_column(sa.Column("stolen", sa.Integer()))',
    ],
    ids=["operation", "sql", "batch"],
)
async def test_a_migration_touching_another_module_s_table_is_refused_and_nothing_changes(
    database_url: str, make_module: ModuleFactory, body: str
) -> None:
    stock = make_module("stock", Column("sku", String(20)))
    sales = make_module("sales", Column("sku", String(20)), depends_on=("stock",))
    migrations = Migrations.of([stock, sales])
    await migrations.revision("stock", "Create stock", autogenerate=True)
    folder = await migrations.revision("sales", "Create sales", autogenerate=True)
    assert folder is not None
    (folder.parent / "sales_0002_steal.py").write_text(
        HAND_WRITTEN.format(message="Steal", revision="sales_0002", down="sales_0001", body=body)
    )
    database = await opened(database_url, stock, sales)
    try:
        with pytest.raises(CrossModuleMigrationError) as refused:
            await migrations.upgrade(database)
        assert str(refused.value).startswith(
            "migration sales_0002_steal.py of module 'sales' touches table 'stock__items'"
        )
        assert "which module 'stock' owns" in str(refused.value)
        assert await migrations.current(database) == {"dolmen": (), "stock": (), "sales": ()}
        assert await columns(database, "stock__items", "stock") == []  # all rolled back
    finally:
        await database.close()


async def test_a_hand_written_revision_is_numbered_in_the_module_s_history(
    make_module: ModuleFactory,
) -> None:
    jobs = make_module("jobs", Column("name", String(20)))
    migrations = Migrations.of([jobs])
    first = await migrations.revision("jobs", "Create jobs", autogenerate=True)
    second = await migrations.revision("jobs", "Backfill job names")
    assert first is not None
    assert second is not None
    assert (first.name, second.name) == (
        "jobs_0001_create_jobs.py",
        "jobs_0002_backfill_job_names.py",
    )
    assert re.search(r"down_revision = [\"']jobs_0001[\"']", second.read_text())  # ruff or not
