"""One module's migration history: where its revisions live and where its version is kept."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import BLANK_SCHEMA, MetaData

if TYPE_CHECKING:
    from dolmen.persistence import ModuleTables


class Declared(Protocol):
    """What migrations need of a module's declaration (a :class:`dolmen.Module` has it)."""

    @property
    def name(self) -> str: ...

    @property
    def tables(self) -> ModuleTables | None: ...

    @property
    def package(self) -> str: ...


VERSION_TABLE_SUFFIX = "__alembic_version"
DOLMEN = "dolmen"
"""The history of Dolmen's own tables (the outbox), shipped inside the dolmen package."""


@dataclass(frozen=True)
class MigrationHistory:
    """The migrations of one module: its tables, its revisions folder, its version table.

    Each module owns its history as it owns its tables: the revisions live in the module's
    package (``<package>/migrations/versions/``), and the revision the database is at is
    kept in the module's own version table, ``<module>__alembic_version`` (in the module's
    schema on PostgreSQL). Revisions are numbered ``<module>_0001``, ``<module>_0002`` ...
    """

    module: str
    tables: ModuleTables | None
    versions: Path | None
    """The folder of the revision files; None if the module's package cannot be found."""
    package: str = ""

    @property
    def version_table(self) -> str:
        """The table holding the revision the database is at."""
        return f"{self.module}{VERSION_TABLE_SUFFIX}"

    @property
    def prefix(self) -> str:
        """The prefix of every table the module owns: ``<module>__``."""
        return f"{self.module}__"

    def has_tables(self) -> bool:
        """Whether the module declares at least one table (``ModuleTables`` may hold none yet)."""
        return self.tables is not None and bool(self.tables.metadata.tables)

    def has_revisions(self) -> bool:
        """Whether the module has at least one revision file."""
        return self.versions is not None and any(self.versions.glob("*.py"))

    @cached_property
    def neutral_metadata(self) -> MetaData:
        """The module's tables without a schema, as its revisions name them.

        Revisions name tables without a schema (``orders__orders``): on SQLite the tables
        have none, and on PostgreSQL each module's migrations run with its schema first on
        the search path, so the same files run on both.
        """
        source = self.tables.metadata if self.tables is not None else MetaData()
        neutral = MetaData(naming_convention=source.naming_convention)
        for table in source.sorted_tables:
            table.to_metadata(
                neutral,
                schema=None,  # type: ignore[arg-type]  # None: no schema
                referred_schema_fn=_no_schema,
            )
        return neutral


def _no_schema(_table: object, _schema: object, _constraint: object, _referred: object) -> Any:
    """Foreign keys of the copy name their table without a schema (SQLAlchemy's symbol)."""
    return BLANK_SCHEMA


def module_history(module: Declared) -> MigrationHistory:
    """The history of ``module``: ``migrations/versions/`` next to its declaration."""
    return MigrationHistory(
        module.name, module.tables, _package_folder(module.package), module.package
    )


def dolmen_history() -> MigrationHistory:
    """The history of Dolmen's own tables (the outbox), which each Dolmen release extends."""
    from dolmen.events import OUTBOX_TABLES

    folder = Path(__file__).resolve().parent.parent / "events" / "migrations" / "versions"
    return MigrationHistory(DOLMEN, OUTBOX_TABLES, folder, "dolmen.events")


def app_histories(modules: Sequence[Declared]) -> list[MigrationHistory]:
    """Dolmen's history, then each module's that has tables or a history folder, in order.

    A module without tables has a history once its ``migrations/versions/`` folder exists
    (``dolmen new module`` makes it empty), so its first revision can be written.
    """
    histories = [dolmen_history()]
    for module in modules:
        history = module_history(module)
        if module.tables is not None or (
            history.versions is not None and history.versions.is_dir()
        ):
            histories.append(history)
    return histories


def _package_folder(package: str) -> Path | None:
    """``<package folder>/migrations/versions``, or None if the package is not importable."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "migrations" / "versions"
