"""What ``dolmen run`` does before uvicorn serves: import ``APP``, check it starts, set up."""

from __future__ import annotations

import copy
import importlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from sqlalchemy.exc import DBAPIError

    from dolmen.modules import App

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
"""How the ``dolmen`` command prints log records."""


def load_app(spec: str, app_dir: str = ".") -> Any:
    """Import ``package.module:attribute`` with ``app_dir`` first on ``sys.path``."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise click.UsageError(
            f"APP must read 'package.module:attribute' (e.g. 'shop.app:app'), got {spec!r}"
        )
    path = str(Path(app_dir).resolve())
    if path not in sys.path:
        sys.path.insert(0, path)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise click.ClickException(
            f"cannot import {module_name!r} ({error}); check the name, or pass --app-dir "
            "with the folder that contains the package"
        ) from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise click.ClickException(
            f"module {module_name!r} has no attribute {attribute!r}"
        ) from None


async def preflight(app: App) -> None:
    """Start and stop ``app`` once, so a bad setting or database fails here in one line.

    It delivers no events and logs no start: the serving processes do, each once.
    """
    from sqlalchemy.exc import DBAPIError

    from dolmen.cli._admin import database_label, database_url
    from dolmen.config import mask_credentials

    try:
        await app.start(dispatch=False, serving=False)
    except (OSError, DBAPIError) as error:
        if isinstance(error, DBAPIError) and not _unreachable(error):
            raise  # the database answered: the command reports the error as it is
        cause = (
            str(error.orig) if isinstance(error, DBAPIError) else f"{type(error).__name__}: {error}"
        )
        raise click.ClickException(
            f"cannot reach the database {database_label(database_url(app))}: "
            f"{mask_credentials(cause)}; check that it runs and that DOLMEN_DATABASE_URL "
            "(or [app] database_url) names it"
        ) from None
    finally:
        await app.stop()


def _unreachable(error: DBAPIError) -> bool:
    """Whether PostgreSQL refused the connection: no such database, or not these credentials."""
    from dolmen.persistence import sqlstate

    code = sqlstate(error) or ""
    return code == "3D000" or code.startswith(("08", "28"))  # catalog, connection, auth


def use_environment(target: object, environment: str) -> None:
    """Read the configuration of ``environment`` here and in every process uvicorn starts.

    It becomes ``DOLMEN_ENV``, which the worker processes inherit. An ``App`` given its
    environment in code keeps it (code comes first), so a different one is refused.
    """
    from dolmen.modules import App

    if isinstance(target, App) and target.environment not in (None, environment):
        raise click.UsageError(
            f"--env {environment} cannot change the environment of app {target.name!r}, set to "
            f"{target.environment!r} in code (App(..., environment=...)); drop one of them"
        )
    os.environ["DOLMEN_ENV"] = environment


def serving_log_config() -> dict[str, Any]:
    """The logging set-up of uvicorn, plus the root logger's as the ``dolmen`` command sets it.

    uvicorn applies it in each process that serves: the workers of ``--workers`` and
    ``--reload`` are new processes, whose app loggers would otherwise print nothing below
    a warning.
    """
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["dolmen"] = {"format": LOG_FORMAT}
    config["handlers"]["dolmen"] = {
        "class": "logging.StreamHandler",
        "formatter": "dolmen",
        "stream": "ext://sys.stderr",
    }
    config["root"] = {"level": "INFO", "handlers": ["dolmen"]}
    config["loggers"]["alembic"] = {"level": "WARNING"}  # Dolmen logs what migrations did
    return config
