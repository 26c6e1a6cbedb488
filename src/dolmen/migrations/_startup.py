"""What an app does with its schema when it starts: ``[app] database_schema``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dolmen.migrations._runner import Migrations
from dolmen.migrations.exceptions import SchemaNotCurrentError

if TYPE_CHECKING:
    from dolmen.migrations._history import Declared
    from dolmen.persistence import Database

logger = logging.getLogger("dolmen.migrations")


async def prepare_schema(database: Database, modules: Sequence[Declared], mode: str) -> None:
    """Make sure the schema is the one the code expects, as ``mode`` says.

    ``check`` (the default) changes nothing and refuses a database that is not at the head
    of every module's migrations, naming the command to run. ``migrate`` applies the
    missing migrations, one process at a time. ``create`` creates the missing tables from
    the modules' declarations without any migration: for development and tests only.
    """
    if mode == "create":
        await database.create_tables()
        return
    migrations = Migrations.of(modules)
    if mode == "migrate":
        for line in await migrations.upgrade(database):
            logger.info("migrated %s", line)
        return
    problems = await migrations.problems(database)
    if problems:
        raise SchemaNotCurrentError(
            "the database does not match the app's migrations:\n  "
            + "\n  ".join(problems)
            + "\nrun 'dolmen db upgrade' to apply them (or set [app] database_schema = "
            '"migrate" to apply them at start-up; database_schema = "create" creates tables '
            "without migrations, for development)"
        )
