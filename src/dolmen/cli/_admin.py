"""What admin commands work on: the app and database they name first, and never a new one.

``dolmen events ...`` and ``dolmen config show`` print which app and database they read,
the password masked, on standard error (so ``--json`` output stays parseable). The events
commands open the outbox of an existing database only: a missing SQLite file, an in-memory
database or a database without Dolmen's outbox is an error (exit 2), never a new database.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dolmen.config import AppSettings, mask_credentials

if TYPE_CHECKING:
    from dolmen.config import LoadedConfig
    from dolmen.events import EventAdmin
    from dolmen.modules import App
    from dolmen.persistence import Database

MISSING_EXIT_CODE = 2


class NoDatabaseError(click.ClickException):
    """The database an admin command would read does not exist, or holds no outbox."""

    exit_code = MISSING_EXIT_CODE


def database_url(app: App, config: LoadedConfig | None = None) -> str:
    """The URL of the app's database, as its configuration (or ``config``) gives it."""
    settings = (config or app.config).section("app")
    assert isinstance(settings, AppSettings)  # the schema puts AppSettings there
    return settings.effective_database_url(app.name)


def database_label(url: str) -> str:
    """``url`` as shown to a user: its password masked, a SQLite file's path made absolute."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return mask_credentials(url)
    path = _sqlite_path(url)
    if path is not None and not path.is_absolute():
        return parsed.set(database=str(path.resolve())).render_as_string(hide_password=True)
    return mask_credentials(url)


def header(app: App, spec: str, config: LoadedConfig | None = None) -> str:
    """``app shop (shop.app:app), database sqlite:////srv/shop/var/shop.db``."""
    return f"app {app.name} ({spec}), database {database_label(database_url(app, config))}"


def say_what_is_read(
    app: App, spec: str, config: LoadedConfig | None = None, *, note_missing: bool = False
) -> None:
    """Print :func:`header` on standard error; with ``note_missing``, say so of a missing file."""
    line = header(app, spec, config)
    path = _sqlite_path(database_url(app, config))
    if note_missing and path is not None and not path.is_file():
        line += " (no such file yet)"
    click.echo(line, err=True)


@contextlib.asynccontextmanager
async def open_outbox(app: App, spec: str) -> AsyncIterator[EventAdmin]:
    """The admin API on the app's existing outbox; creates no file, schema or table.

    The app itself is not started: no start-up hook runs and no event is delivered. On a
    SQLite file, a replay wakes the dispatchers of the app's running processes.
    """
    from dolmen.events import OUTBOX_TABLES, EventAdmin, EventBackend, EventSettings, Wakeup
    from dolmen.persistence import Database

    url = database_url(app)
    _refuse_missing_file(url, spec)
    settings = app.settings
    database = Database(
        url, [OUTBOX_TABLES], pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    wakeup: Wakeup | None = None
    try:
        await _open_existing(database, url, spec)
        events = app.config.section("events")
        assert isinstance(events, EventSettings)  # the schema puts EventSettings there
        backend = EventBackend.sql(database, events)  # its wake-up not opened: nothing created
        wakeup = backend.wakeup
        yield EventAdmin(backend.queue, wake=wakeup.notify)
    finally:
        if wakeup is not None:
            await wakeup.close()
        await database.close()


def _missing(spec: str, what: str) -> NoDatabaseError:
    return NoDatabaseError(
        f"{what}; start the app once (dolmen run {spec}) or set DOLMEN_DATABASE_URL "
        "to the database it uses"
    )


def _refuse_missing_file(url: str, spec: str) -> None:
    """Before anything is opened: a SQLite file must exist, and a database must be a file."""
    from dolmen.persistence import normalize_url

    if normalize_url(url).get_backend_name() != "sqlite":  # an unusable URL: its error
        return
    path = _sqlite_path(url)
    if path is None:
        raise NoDatabaseError(
            f"{mask_credentials(url)} is an in-memory database: it lives only in the "
            "process that opens it; set DOLMEN_DATABASE_URL to the app's database file"
        )
    if not path.is_file():
        raise _missing(spec, f"no database at {database_label(url)}")


async def _open_existing(database: Database, url: str, spec: str) -> None:
    """Open ``database`` without creating anything; refuse one without Dolmen's outbox."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from dolmen.events import OUTBOX_TABLES
    from dolmen.persistence import sqlstate

    deliveries = OUTBOX_TABLES.table_name("deliveries")
    schema = None if database.is_sqlite else OUTBOX_TABLES.module
    try:
        await database.open(create_tables=False)
        async with database.engine.connect() as connection:
            found = await connection.run_sync(
                lambda sync: inspect(sync).has_table(deliveries, schema=schema)
            )
    except DBAPIError as error:
        if sqlstate(error) != _UNKNOWN_DATABASE:
            raise
        name = make_url(url).database
        raise NoDatabaseError(
            f"PostgreSQL has no database {name!r} ({database_label(url)}); create it and "
            f"start the app once (dolmen run {spec}), or set DOLMEN_DATABASE_URL to the "
            "database the app uses"
        ) from None
    except OSError as error:
        raise click.ClickException(
            f"cannot reach the database {database_label(url)}: {mask_credentials(str(error))}"
        ) from None
    if not found:
        label = database_label(url)
        raise _missing(spec, f"the database {label} has no Dolmen outbox ({deliveries})")


_UNKNOWN_DATABASE = "3D000"  # PostgreSQL's invalid_catalog_name: no database of that name


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (relative to the working directory); None if in memory."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite":
        return None
    if database.startswith("file:"):  # a URI (?uri=true): file:path?mode=...
        if "mode=memory" in database or "mode=memory" in str(parsed.query):
            return None
        database = database.removeprefix("file:").partition("?")[0]
    if database in ("", ":memory:"):
        return None
    return Path(database)
