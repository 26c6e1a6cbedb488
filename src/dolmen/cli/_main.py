"""The ``dolmen`` command."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

import click

from dolmen._version import __version__
from dolmen.cli._check import check_command, graph_command
from dolmen.cli._config import config_group
from dolmen.cli._db import db_group
from dolmen.cli._deploy import deploy_group
from dolmen.cli._events import events_group
from dolmen.cli._new import new_group
from dolmen.cli._units import units_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dolmen")
def cli() -> None:
    """Dolmen: build and run modular monoliths."""


@cli.command()
@click.argument("app_spec", metavar="APP")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to bind.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes; each one starts the app and serves requests.",
)
@click.option(
    "--env",
    "environment",
    default=None,
    help="Configuration environment (reads dolmen.<env>.toml) [default: DOLMEN_ENV, else dev].",
)
@click.option("--reload", is_flag=True, help="Restart when source files change (development).")
@click.option(
    "--unit",
    default=None,
    metavar="NAME",
    help="Run only this deployment unit's modules ([units.unit.NAME]; `dolmen units APP` "
    "lists them) [default: every module].",
)
@click.option(
    "--app-dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder put first on the import path to find APP.",
)
def run(
    app_spec: str,
    host: str,
    port: int,
    workers: int,
    environment: str | None,
    reload: bool,
    unit: str | None,
    app_dir: str,
) -> None:
    """Serve APP ('package.module:attribute', a dolmen.App or any ASGI app) with uvicorn."""
    import asyncio

    import uvicorn

    from dolmen.cli._loading import (
        load_app,
        observability_settings,
        preflight,
        serving_log_config,
        shared_metrics_dir,
        use_environment,
    )
    from dolmen.cli._units import use_unit
    from dolmen.modules import App

    if workers > 1 and reload:
        raise click.UsageError(
            "--workers and --reload do not go together: --reload restarts a single process; "
            "use --reload while developing and --workers to serve"
        )
    target = load_app(app_spec, app_dir)
    metrics_dir = None
    if unit is not None and not isinstance(target, App):
        raise click.UsageError(f"--unit needs a dolmen.App; {app_spec} is not one")
    if isinstance(target, App):
        if environment is not None:
            use_environment(target, environment)  # here and in every worker
        if unit is not None:
            use_unit(target, unit)  # DOLMEN__UNITS__CURRENT, here and in every worker
        if workers > 1:  # before prometheus_client is imported: here and in every worker
            metrics_dir = shared_metrics_dir()
        asyncio.run(preflight(target))
    log_config = serving_log_config(target)
    # A Dolmen app logs each request itself (its [observability] access log): not uvicorn too.
    access_log = observability_settings(target) is None
    if reload:
        watched = sorted({str(Path(app_dir).resolve()), str(Path.cwd())})
        uvicorn.run(
            app_spec,
            host=host,
            port=port,
            reload=True,
            app_dir=app_dir,
            reload_dirs=watched,
            log_config=log_config,
            access_log=access_log,
        )
    elif workers > 1:  # each worker imports APP and starts it in its lifespan
        try:
            uvicorn.run(
                app_spec,
                host=host,
                port=port,
                workers=workers,
                app_dir=app_dir,
                log_config=log_config,
                access_log=access_log,
            )
        finally:
            if metrics_dir is not None:
                os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
                shutil.rmtree(metrics_dir, ignore_errors=True)
    else:
        uvicorn.run(target, host=host, port=port, log_config=log_config, access_log=access_log)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to bind.")
@click.option(
    "--traffic",
    is_flag=True,
    help="Send the shop light background traffic (orders paid and declined, a flaky "
    "notification handler), so the metrics, traces and events have something to show.",
)
def demo(host: str, port: int, traffic: bool) -> None:
    """Run the example shop on SQLite (./var/shop.db), seeded with a few products."""
    import asyncio

    from dolmen.cli._admin import database_label, database_url
    from dolmen.cli._demo import load_shop, seed_shop, serve_shop

    app = load_shop(traffic=traffic)
    asyncio.run(seed_shop(app))
    base = f"http://{host}:{port}"
    click.echo(
        f"Dolmen demo: the shop on {database_label(database_url(app))}\n"
        f"  API docs   {base}/docs\n"
        f"  product    curl {base}/catalog/products/KEYBOARD\n"
        f"  order      curl -X POST {base}/orders -H 'content-type: application/json' "
        '-d \'{"customer_email": "ada@example.com", "items": '
        '[{"sku": "KEYBOARD", "quantity": 1}]}\'\n'
        f"  health     {base}/healthz   {base}/readyz\n"
        f"  metrics    {base}/metrics\n"
        f"  dashboard  {base}/_dolmen/\n"
        + ("  traffic    two requests a second, from examples/shop/traffic.py\n" if traffic else "")
        + "Press Ctrl+C to stop."
    )
    serve_shop(app, host, port, traffic=traffic)


cli.add_command(config_group)
cli.add_command(db_group)
cli.add_command(deploy_group)
cli.add_command(events_group)
cli.add_command(check_command)
cli.add_command(graph_command)
cli.add_command(new_group)
cli.add_command(units_command)


def main() -> None:
    """Entry point of the ``dolmen`` console script: one clear line on error, never a traceback."""
    from dolmen.cli._loading import LOG_FORMAT

    # Named "dolmen": an app's observability replaces it with its own while the app runs.
    handler = logging.StreamHandler()
    handler.set_name("dolmen")
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, handlers=[handler])
    # Alembic's lines (its plugins, its context) say nothing a user acts on: Dolmen says what
    # its migrations did. Its warnings still show.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except Exception as error:
        sys.exit(_report(error))
    sys.exit(code if isinstance(code, int) else 0)


def _is_alembic_command_error(error: Exception) -> bool:
    """An error Alembic raises for a command it cannot run (a revision it cannot find, say)."""
    util = sys.modules.get("alembic.util")  # not imported: not Alembic's error
    return util is not None and isinstance(error, util.CommandError)


def _report(error: Exception) -> int:
    """Print ``error`` as the user should see it; return the exit status."""
    from dolmen.check.exceptions import CheckConfigError
    from dolmen.config import ConfigurationError, mask_credentials
    from dolmen.migrations import MigrationError
    from dolmen.modules import CompositionError
    from dolmen.units import TopologyError

    if isinstance(error, ConfigurationError | CheckConfigError | TopologyError):
        click.echo(mask_credentials(str(error)), err=True)
        return 2
    if isinstance(error, CompositionError | MigrationError) or _is_alembic_command_error(error):
        click.echo(f"Error: {mask_credentials(str(error))}", err=True)
        return 1
    logging.getLogger("dolmen.cli").debug("command failed", exc_info=error)
    click.echo(f"Error: {type(error).__name__}: {mask_credentials(str(error))}", err=True)
    return 1
