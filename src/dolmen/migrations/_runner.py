"""``Migrations``: the migration histories of an app's modules, run on its database."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.schema import CreateSchema

from dolmen.migrations._history import DOLMEN, Declared, MigrationHistory, app_histories
from dolmen.migrations.exceptions import MigrationError
from dolmen.persistence import Database, schema_change

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import Connection


T = TypeVar("T")
logger = logging.getLogger("dolmen.migrations")

BASELINE = "dolmen_0001"
"""Dolmen's outbox as the releases before migrations created it (commit 85a3f70)."""


class Migrations:
    """The migration histories of an app: Dolmen's own first, then its modules' in order.

    Each history is a module's own (see :class:`MigrationHistory`). Every command that
    changes the database runs in one transaction under the lock of Dolmen's schema changes
    (:func:`~dolmen.persistence.schema_change`: an advisory lock on PostgreSQL, the writers'
    turn on SQLite), so processes migrating at once take turns and the second finds the
    work done.
    """

    def __init__(self, histories: Sequence[MigrationHistory]) -> None:
        self.histories = list(histories)

    @classmethod
    def of(cls, modules: Sequence[Declared]) -> Migrations:
        """The histories of ``modules`` (in dependency order), after Dolmen's own."""
        return cls(app_histories(modules))

    @property
    def modules(self) -> list[str]:
        """The names of the histories, in the order they are upgraded."""
        return [h.module for h in self.histories]

    def history(self, module: str) -> MigrationHistory:
        """The history of ``module``; an error naming the known ones if it has none."""
        for history in self.histories:
            if history.module == module:
                return history
        raise MigrationError(
            f"no module {module!r} with tables or migrations in this app (there are: "
            f"{', '.join(self.modules)}); check the name given to --module"
        )

    # -- reading ----------------------------------------------------------------------

    def heads(self, module: str) -> tuple[str, ...]:
        """The latest revision(s) of ``module``'s history (none if it has no revision)."""
        return tuple(self._script(self.history(module)).get_heads())

    def revisions(self, module: str) -> list[tuple[str, str | None, str]]:
        """``(revision, down_revision, message)`` of ``module``'s revisions, newest first."""
        out = []
        for script in self._script(self.history(module)).walk_revisions():
            down = script.down_revision
            out.append((script.revision, down if isinstance(down, str) else None, script.doc))
        return out

    async def current(self, database: Database) -> dict[str, tuple[str, ...]]:
        """The revision(s) the database is at, per module (empty: none applied)."""
        async with database.engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: {h.module: _current(sync, h) for h in self.histories}
            )

    async def problems(self, database: Database) -> list[str]:
        """Why the database does not match the code's migrations, one line per module."""
        current = await self.current(database)
        found = []
        for history in self.histories:
            heads = set(self.heads(history.module))
            at = set(current[history.module])
            if history.has_tables() and not heads:
                found.append(
                    f"module {history.module!r} has tables but no migrations: create its "
                    f"first with dolmen db revision --module {history.module} -m 'create "
                    "tables' --autogenerate"
                )
            elif at != heads:
                where = ", ".join(sorted(at)) or "no revision"
                want = ", ".join(sorted(heads))
                unknown = at - {s for s, _, _ in self.revisions(history.module)}
                state = "ahead of its code (unknown revision)" if unknown else "behind"
                found.append(f"module {history.module!r} is at {where}, {state}: code has {want}")
        return found

    # -- changing ---------------------------------------------------------------------

    async def upgrade(
        self, database: Database, module: str | None = None, revision: str = "head"
    ) -> list[str]:
        """Apply the migrations not applied yet, in dependency order; say what was applied.

        ``module`` limits it to one module's history, ``revision`` to a revision of it.
        """
        if module is None and revision != "head":
            raise MigrationError(
                f"revision {revision!r} belongs to one module's history: name it with --module"
            )
        histories = self.histories if module is None else [self.history(module)]
        async with self._changing(database) as connection:
            lines: list[str] = await connection.run_sync(
                lambda sync: [line for h in histories for line in self._upgrade(sync, h, revision)]
            )
        return lines

    async def downgrade(self, database: Database, module: str, revision: str) -> list[str]:
        """Revert ``module``'s history to ``revision`` (``-1``, ``base`` or a revision id)."""
        history = self.history(module)
        async with self._changing(database) as connection:
            lines: list[str] = await connection.run_sync(
                lambda sync: self._moved(sync, history, "downgrade", revision)
            )
        return lines

    async def stamp(self, database: Database, module: str, revision: str) -> None:
        """Record ``module`` as at ``revision`` without running anything (adopting a database)."""
        from alembic import command

        history = self.history(module)
        async with self._changing(database) as connection:
            await connection.run_sync(
                lambda sync: command.stamp(self._config(history, sync), revision)
            )

    async def revision(
        self, module: str, message: str, *, autogenerate: bool = False, url: str | None = None
    ) -> Path | None:
        """Write ``module``'s next revision; with ``autogenerate``, from its tables' changes.

        The changes are those between the module's tables and its migrations, run on a
        scratch database (a temporary SQLite file, or the empty database ``url``): the state
        of the developer's database does not matter. None if autogenerate found no change.
        """
        from alembic import command

        history = self.history(module)
        if history.versions is None:
            raise MigrationError(
                f"cannot find the folder of module {module!r} (package {history.package!r}); "
                "declare it with Module(..., package='<its package>')"
            )
        history.versions.mkdir(parents=True, exist_ok=True)
        if not autogenerate:
            from dolmen.migrations._env import MigrationRun, alembic_config

            run = MigrationRun(history, None, self._others(history))
            number = len(self.revisions(module)) + 1  # autogenerate numbers in its directives
            script = command.revision(
                alembic_config(run),
                message,
                version_path=str(history.versions),
                rev_id=f"{module}_{number:04d}",
            )
            return _written(script)

        def write(sync: Connection) -> Path | None:
            self._upgrade(sync, history, "head")
            config = self._config(history, sync, autogenerate=True)
            script = command.revision(
                config, message, autogenerate=True, version_path=str(history.versions)
            )
            return _written(script)

        return await self._on_scratch(url, write)

    async def check(self, url: str | None = None) -> list[str]:
        """The differences between each module's tables and its migrations (empty: none).

        Every history is upgraded on a scratch database (a temporary SQLite file, or the
        empty database ``url``), then each module's tables are compared with it.
        """
        from alembic import command
        from alembic.util import AutogenerateDiffsDetected

        def compare(sync: Connection) -> list[str]:
            diffs = []
            for history in self.histories:
                self._upgrade(sync, history, "head")
            for history in self.histories:
                if history.tables is None or not history.has_revisions():
                    continue
                try:
                    command.check(self._config(history, sync))
                except AutogenerateDiffsDetected as error:
                    diffs.append(f"module {history.module!r}: {error}")
            return diffs

        return self._missing() + await self._on_scratch(url, compare)

    # -- internals --------------------------------------------------------------------

    async def _on_scratch(self, url: str | None, work: Callable[[Connection], T]) -> T:
        """``work`` on a scratch database, in a transaction rolled back afterwards."""
        async with scratch_database(url) as database:
            try:
                async with self._changing(database) as connection:
                    raise _Discard(await connection.run_sync(work))
            except _Discard as discard:
                result: T = discard.value
                return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _missing(self) -> list[str]:
        return [
            f"module {h.module!r} has tables but no migrations: create its first with "
            f"dolmen db revision --module {h.module} -m 'create tables' --autogenerate"
            for h in self.histories
            if h.has_tables() and not h.has_revisions()
        ]

    @contextlib.asynccontextmanager
    async def _changing(self, database: Database) -> AsyncIterator[Any]:
        async with schema_change(database.write_engine) as connection:
            if not database.is_sqlite:
                for history in self.histories:
                    await connection.execute(CreateSchema(history.module, if_not_exists=True))
            yield connection

    def _upgrade(self, sync: Connection, history: MigrationHistory, revision: str) -> list[str]:
        lines = []
        if history.module == DOLMEN and not _current(sync, history):
            adopted = _outbox_revision(sync)
            if adopted is not None:  # an outbox made without migrations: record what it is
                from alembic import command

                command.stamp(self._config(history, sync), adopted)
                lines.append(f"{DOLMEN}: recorded at {adopted} (an outbox made without migrations)")
        return lines + self._moved(sync, history, "upgrade", revision)

    def _moved(
        self, sync: Connection, history: MigrationHistory, direction: str, revision: str
    ) -> list[str]:
        from alembic import command

        before = _current(sync, history)
        function: Callable[..., Any] = getattr(command, direction)
        function(self._config(history, sync), revision)
        after = _current(sync, history)
        if before == after:
            return []
        was = ", ".join(before) or "nothing"
        return [f"{history.module}: {was} -> {', '.join(after) or 'nothing'}"]

    def _config(self, history: MigrationHistory, sync: Connection, **kw: Any) -> Any:
        from dolmen.migrations._env import MigrationRun, alembic_config

        return alembic_config(MigrationRun(history, sync, self._others(history), **kw))

    def _others(self, history: MigrationHistory) -> tuple[str, ...]:
        return tuple(h.module for h in self.histories if h is not history)

    def _script(self, history: MigrationHistory) -> ScriptDirectory:
        from alembic.script import ScriptDirectory

        from dolmen.migrations._env import MigrationRun, alembic_config

        return ScriptDirectory.from_config(alembic_config(MigrationRun(history, None)))


class _Discard(Exception):  # not an error: how a scratch transaction ends
    def __init__(self, value: Any) -> None:
        self.value = value


def _current(sync: Connection, history: MigrationHistory) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    sqlite = sync.dialect.name == "sqlite"
    context = MigrationContext.configure(
        sync,
        opts={
            "version_table": history.version_table,
            "version_table_schema": None if sqlite else history.module,
        },
    )
    return tuple(sorted(context.get_current_heads()))


def _outbox_revision(sync: Connection) -> str | None:
    """The revision of an outbox made without migrations (None: there is no outbox).

    Releases before migrations made ``dolmen__deliveries`` (:data:`BASELINE`); a database made
    by ``[app] database_schema = "create"`` has the outbox of the Dolmen that made it, which
    the tables present tell. A revision of Dolmen's that adds a table adds a line here.
    """
    from dolmen.events import OUTBOX_TABLES

    schema = None if sync.dialect.name == "sqlite" else OUTBOX_TABLES.module
    inspector = inspect(sync)
    if not inspector.has_table(OUTBOX_TABLES.table_name("deliveries"), schema=schema):
        return None
    if inspector.has_table(OUTBOX_TABLES.table_name("received"), schema=schema):
        return "dolmen_0003"
    if inspector.has_table(OUTBOX_TABLES.table_name("dispatchers"), schema=schema):
        return "dolmen_0002"
    return BASELINE


def _written(script: Any) -> Path | None:
    """The file of a revision written, formatted by ruff if the environment has it."""
    scripts = script if isinstance(script, list) else [script]
    paths = [Path(s.path) for s in scripts if s is not None]
    if not paths:
        return None
    ruff = Path(sys.executable).parent / "ruff"
    if ruff.is_file():  # a project that formats its code with ruff gets formatted revisions
        subprocess.run([str(ruff), "format", "--quiet", str(paths[0])], check=False)
    return paths[0]


@contextlib.asynccontextmanager
async def scratch_database(url: str | None = None) -> AsyncIterator[Database]:
    """An empty database to run migrations on: a temporary SQLite file, or ``url``'s."""
    with tempfile.TemporaryDirectory(prefix="dolmen-migrations-") as folder:
        database = Database(url or f"sqlite:///{folder}/scratch.db", [])
        await database.open(create_tables=False)  # the migrations make them
        try:
            yield database
        finally:
            await database.close()
