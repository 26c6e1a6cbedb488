"""Where a module's migrations live, and the setting that says what start-up does with them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, ForeignKey, Integer

from dolmen import App, Module, ModuleTables
from dolmen.config import ConfigurationError
from dolmen.migrations import MigrationError, Migrations, dolmen_history, module_history


def test_a_module_s_history_is_in_its_package_with_a_version_table_of_its_own() -> None:
    history = module_history(Module("orders", package="shop.orders"))
    assert history.versions is not None
    assert history.versions.parts[-4:] == ("shop", "orders", "migrations", "versions")
    assert history.version_table == "orders__alembic_version"
    assert dolmen_history().has_revisions()


def test_revisions_name_the_module_s_tables_and_their_keys_without_a_schema() -> None:
    tables = ModuleTables("orders")
    orders = tables.table("orders", Column("id", Integer, primary_key=True))
    tables.table("lines", Column("order_id", ForeignKey(orders.c.id), primary_key=True))
    neutral = module_history(Module("orders", tables=tables, package="x")).neutral_metadata
    assert sorted(neutral.tables) == ["orders__lines", "orders__orders"]
    [key] = neutral.tables["orders__lines"].foreign_keys
    assert key.target_fullname == "orders__orders.id"


def test_histories_follow_the_dependency_order_after_dolmen_s_own() -> None:
    tables = ModuleTables("b")
    b = Module("b", tables=tables, package="x")
    a = Module("a", depends_on=["b"], tables=ModuleTables("a"), package="y")
    migrations = Migrations.of(App("x", modules=[a, b, Module("c", package="z")]).modules)
    assert migrations.modules == ["dolmen", "b", "a"]  # c has no tables and no revisions
    with pytest.raises(MigrationError, match="no module 'c' with tables or migrations"):
        migrations.history("c")


def test_an_unknown_start_up_schema_setting_is_refused_with_the_choices() -> None:
    app = App("x", modules=[], config={"app": {"database_schema": "creat"}})
    with pytest.raises(ConfigurationError) as refused:
        app.load_config(environ={})
    assert "app.database_schema: Input should be 'check', 'migrate' or 'create'" in str(
        refused.value
    )


def test_a_module_without_tables_has_a_history_once_its_folder_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "jobs_pkg").mkdir()
    (tmp_path / "jobs_pkg" / "__init__.py").write_text("")
    jobs = Module("jobs", package="jobs_pkg")
    assert Migrations.of([jobs]).modules == ["dolmen"]
    (tmp_path / "jobs_pkg" / "migrations" / "versions").mkdir(parents=True)
    migrations = Migrations.of([jobs])
    assert migrations.modules == ["dolmen", "jobs"]
    assert migrations.heads("jobs") == ()


def test_a_module_whose_tables_declare_none_yet_needs_no_migration() -> None:
    """``dolmen new module`` wires an empty ModuleTables: ``dolmen db check`` stays green."""
    tables = ModuleTables("notes")
    module = Module("notes", tables=tables, package="x")
    assert not module_history(module).has_tables()
    assert Migrations.of([module])._missing() == []
    tables.table("notes", Column("id", Integer, primary_key=True))
    assert module_history(module).has_tables()
    assert "module 'notes' has tables but no migrations" in Migrations.of([module])._missing()[0]
