"""``dolmen db``: each module's migrations: write, apply, revert, show and check them."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import click

from dolmen.cli._project import app_options, find_named_app

if TYPE_CHECKING:
    from dolmen.migrations import Migrations
    from dolmen.modules import App
    from dolmen.persistence import Database

T = TypeVar("T")
ENV_HELP = "Environment (reads dolmen.<env>.toml). Default: DOLMEN_ENV, or 'dev'."


@click.group("db")
def db_group() -> None:
    """Schema migrations, one history per module (on Alembic)."""


def _env_option(command: Callable[..., None]) -> Callable[..., None]:
    return click.option("--env", "environment", default=None, help=ENV_HELP)(command)


@db_group.command()
@click.option("--module", "-M", default=None, help="Only this module's history.")
@click.argument("revision", default="head")
@_env_option
@app_options
def upgrade(
    module: str | None,
    revision: str,
    environment: str | None,
    app_spec: str | None,
    app_dir: str | None,
) -> None:
    """Apply the migrations not applied yet: Dolmen's own, then each module's in dependency order.

    With --module, only that module's, up to REVISION (default: its latest).
    """
    applied = _on_database(
        app_spec, app_dir, environment, lambda m, db: m.upgrade(db, module, revision), creates=True
    )
    for line in applied:
        click.echo(f"upgraded {line}")
    if not applied:
        click.echo("nothing to upgrade: the database is at the latest revision of every module")


@db_group.command(context_settings={"ignore_unknown_options": True})  # REVISION may be -1
@click.option("--module", "-M", required=True, help="The module whose history to revert.")
@click.argument("revision")
@_env_option
@app_options
def downgrade(
    module: str, revision: str, environment: str | None, app_spec: str | None, app_dir: str | None
) -> None:
    """Revert a module's migrations down to REVISION: '-1' (the last one), a revision, or 'base'."""
    reverted = _on_database(
        app_spec, app_dir, environment, lambda m, db: m.downgrade(db, module, revision)
    )
    for line in reverted:
        click.echo(f"downgraded {line}")
    if not reverted:
        click.echo(f"nothing to downgrade: module {module!r} is at {revision}")


@db_group.command()
@click.option("--module", "-M", required=True, help="The module to record a revision for.")
@click.argument("revision")
@_env_option
@app_options
def stamp(
    module: str, revision: str, environment: str | None, app_spec: str | None, app_dir: str | None
) -> None:
    """Record a module as at REVISION without running anything.

    For a database whose tables were created before the module had migrations (by
    [app] database_schema = "create"): stamp it at the revision that creates them.
    """
    _on_database(app_spec, app_dir, environment, lambda m, db: m.stamp(db, module, revision))
    click.echo(f"module {module!r} recorded at {revision}")


@db_group.command()
@_env_option
@app_options
def current(environment: str | None, app_spec: str | None, app_dir: str | None) -> None:
    """The revision the database is at, per module, and whether it is the latest."""

    async def read(migrations: Migrations, database: Database) -> list[str]:
        at = await migrations.current(database)
        lines = []
        for module in migrations.modules:
            heads = migrations.heads(module)
            where = ", ".join(at[module]) or "nothing applied"
            state = "latest" if set(at[module]) == set(heads) else "behind: dolmen db upgrade"
            if not heads:
                state = "no migrations"
            lines.append(f"{module}: {where} ({state})")
        return lines

    for line in _on_database(app_spec, app_dir, environment, read):
        click.echo(line)


@db_group.command()
@click.option("--module", "-M", default=None, help="Only this module's history.")
@app_options
def history(module: str | None, app_spec: str | None, app_dir: str | None) -> None:
    """Each module's revisions, newest first."""
    migrations = _migrations(find_named_app(app_spec, app_dir)[0])
    modules = [module] if module is not None else migrations.modules
    for name in modules:
        revisions = migrations.revisions(name)
        click.echo(f"{name}:" + ("" if revisions else " no migrations"))
        for index, (revision, _down, message) in enumerate(revisions):
            click.echo(f"  {revision}  {message}" + ("  (latest)" if index == 0 else ""))


@db_group.command()
@click.option("--module", "-M", required=True, help="The module the revision belongs to.")
@click.option("--message", "-m", required=True, help="What the revision does.")
@click.option(
    "--autogenerate",
    is_flag=True,
    help="Write the changes between the module's tables and its migrations.",
)
@app_options
def revision(
    module: str, message: str, autogenerate: bool, app_spec: str | None, app_dir: str | None
) -> None:
    """Write a module's next revision, empty or (--autogenerate) from its tables' changes.

    Autogenerate compares the module's own tables with its migrations applied to a scratch
    database: the state of your database does not matter. Review the file it writes.
    """
    migrations = _migrations(find_named_app(app_spec, app_dir)[0])
    written = asyncio.run(migrations.revision(module, message, autogenerate=autogenerate))
    if written is None:
        click.echo(f"no change in module {module!r}'s tables since its last revision; no file")
    else:
        click.echo(f"wrote {written}")


@db_group.command()
@click.option(
    "--url",
    default=None,
    help="An empty database to run the migrations on (default: a temporary SQLite file).",
)
@app_options
def check(url: str | None, app_spec: str | None, app_dir: str | None) -> None:
    """Exit 1 if any module's tables differ from its migrations (for CI).

    Every module's migrations run on a scratch database, then each module's tables are
    compared with the result: a change to a table without its revision fails here.
    """
    migrations = _migrations(find_named_app(app_spec, app_dir)[0])
    differences = asyncio.run(migrations.check(url))
    if differences:
        for line in differences:
            click.echo(line, err=True)
        click.echo(
            "the models differ from the migrations: write the missing revision with "
            "dolmen db revision --module M -m '...' --autogenerate",
            err=True,
        )
        sys.exit(1)
    click.echo(f"migrations match the tables of {', '.join(migrations.modules)}")


def _migrations(app: App) -> Migrations:
    from dolmen.migrations import Migrations

    return Migrations.of(app.modules)


def _on_database(
    app_spec: str | None,
    app_dir: str | None,
    environment: str | None,
    work: Callable[[Migrations, Database], Awaitable[T]],
    *,
    creates: bool = False,
) -> T:
    """``work`` on the app's database; only ``creates`` (an upgrade) may make a new SQLite file."""
    from dolmen.cli._admin import NoDatabaseError, _sqlite_path, database_url, say_what_is_read

    app, spec = find_named_app(app_spec, app_dir)
    config = app.load_config(environment=environment)
    say_what_is_read(app, spec, config)
    path = _sqlite_path(database_url(app, config))
    if not creates and path is not None and not path.is_file():
        raise NoDatabaseError(f"no database at {path} yet; dolmen db upgrade creates it")

    async def run() -> T:
        async with _database(app, config) as database:
            return await work(_migrations(app), database)

    return asyncio.run(run())


@contextlib.asynccontextmanager
async def _database(app: App, config: object) -> AsyncIterator[Database]:
    from dolmen.cli._admin import database_url
    from dolmen.config import AppSettings, LoadedConfig
    from dolmen.events import OUTBOX_TABLES
    from dolmen.persistence import Database

    assert isinstance(config, LoadedConfig)
    settings = config.section("app")
    assert isinstance(settings, AppSettings)  # the schema puts AppSettings there
    database = Database(
        database_url(app, config),
        [OUTBOX_TABLES, *(m.tables for m in app.modules if m.tables is not None)],
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    try:
        await database.open(create_tables=False)  # the migrations make them
        yield database
    finally:
        await database.close()
