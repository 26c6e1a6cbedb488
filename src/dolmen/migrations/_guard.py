"""A module's migrations change only the module's own tables: checked as each operation runs."""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic.operations import BatchOperations, Operations
from alembic.operations import ops as alembic_ops

from dolmen.migrations.exceptions import CrossModuleMigrationError

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext

    from dolmen.migrations._history import MigrationHistory

_TABLE_ATTRIBUTES = ("table_name", "new_table_name", "source_table", "referent_table")
_SCHEMA_ATTRIBUTES = ("schema", "source_schema", "referent_schema")


class ModuleOperations(Operations):
    """Alembic's ``op`` for one module's migrations: it refuses another module's tables.

    Every operation a revision invokes (``op.add_column``, ``op.create_table``,
    ``op.batch_alter_table``, ``op.execute`` ...) is checked before it runs: the tables it
    names must carry the module's prefix (``orders__``), and SQL text must not name a table
    of another module of the app (``catalog__...``) or of Dolmen (``dolmen__...``). A
    schema, if a revision names one, must be the module's; on SQLite it is dropped (the
    module's tables live in the one database there).

    What a revision does through ``op.get_bind()`` directly is not seen: the runtime guard
    of the units of work does not apply to migrations either. Review such code.
    """

    def __init__(
        self, context: MigrationContext, history: MigrationHistory, others: Collection[str]
    ) -> None:
        super().__init__(context)
        self.history = history
        names = sorted({*others, "dolmen"} - {history.module}, key=len, reverse=True)
        self._foreign = (
            re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, names)) + r")__\w+")
            if names
            else None
        )
        self._sqlite = context.dialect.name == "sqlite"

    def _install_proxy(self) -> None:
        """Become ``alembic.op`` for the revisions run next (Alembic keys its proxy by class)."""
        self._setups[type(self)] = self._setups[Operations]
        super()._install_proxy()

    def invoke(self, operation: Any) -> Any:
        """Check ``operation``, then run it as Alembic does."""
        self._check(operation)
        return super().invoke(operation)

    @contextmanager
    def batch_alter_table(  # type: ignore[override]  # the same parameters, passed on
        self, table_name: str, schema: str | None = None, **kw: Any
    ) -> Iterator[BatchOperations]:
        """``op.batch_alter_table`` on one of the module's own tables."""
        self._check_table(table_name)
        with super().batch_alter_table(table_name, self._schema(schema), **kw) as batch:
            yield batch

    def _check(self, operation: Any) -> None:
        for attribute in _TABLE_ATTRIBUTES:
            name = getattr(operation, attribute, None)
            if isinstance(name, str):
                self._check_table(name)
        if isinstance(operation, alembic_ops.BulkInsertOp):
            self._check_table(str(operation.table.name))
        if isinstance(operation, alembic_ops.ExecuteSQLOp):
            self._check_sql(str(operation.sqltext))
        for attribute in _SCHEMA_ATTRIBUTES:
            if hasattr(operation, attribute):
                setattr(operation, attribute, self._schema(getattr(operation, attribute)))

    def _schema(self, schema: str | None) -> str | None:
        if schema is None:
            return None
        if schema != self.history.module:
            raise self._refusal(f"schema {schema!r}", schema)
        return None if self._sqlite else schema

    def _check_table(self, name: str) -> None:
        if not name.startswith(self.history.prefix):
            owner = name.partition("__")[0] if "__" in name else None
            raise self._refusal(f"table {name!r}", owner)

    def _check_sql(self, sql: str) -> None:
        found = self._foreign.search(sql) if self._foreign is not None else None
        if found is not None:
            raise self._refusal(f"table {found.group(0)!r} (in SQL it executes)", found.group(1))

    def _refusal(self, what: str, owner: str | None) -> CrossModuleMigrationError:
        module = self.history.module
        whose = f", which module {owner!r} owns" if owner and owner != module else ""
        move = (
            f"; move this change to a migration of module {owner!r}"
            if owner and owner != module
            else ""
        )
        return CrossModuleMigrationError(
            f"migration {_running_revision(self.history) or '?'} of module {module!r} touches "
            f"{what}{whose}: a module's migrations change only its own tables "
            f"({self.history.prefix}*){move}. Nothing was changed."
        )


def _running_revision(history: MigrationHistory) -> str | None:
    """The revision file being run: the innermost frame whose code is in the versions folder."""
    if history.versions is None:
        return None
    folder = str(history.versions.resolve())
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(folder):
            return Path(filename).name
        frame = frame.f_back  # type: ignore[assignment]
    return None
