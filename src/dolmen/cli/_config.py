"""``dolmen config``: show, check, diff and document an app's configuration."""

from __future__ import annotations

import sys

import click

from dolmen.cli._project import app_options, find_app, find_named_app

ENV_HELP = "Environment (reads dolmen.<env>.toml). Default: DOLMEN_ENV, or 'dev'."


@click.group("config")
def config_group() -> None:
    """Show, check, compare and document configuration."""


@config_group.command()
@click.option("--env", "environment", default=None, help=ENV_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@app_options
def show(environment: str | None, as_json: bool, app_spec: str | None, app_dir: str | None) -> None:
    """Every effective setting, its value and where it came from.

    Secrets show as ********, the password of a URL as ***. The app and the database
    the settings name come first, on standard error.
    """
    from dolmen.cli._admin import say_what_is_read
    from dolmen.config.report import show_json, show_text

    app, spec = find_named_app(app_spec, app_dir)
    config = app.load_config(environment=environment)
    say_what_is_read(app, spec, config, note_missing=True)
    click.echo(show_json(config) if as_json else show_text(config))


@config_group.command()
@click.option("--env", "environment", default=None, help=ENV_HELP)
@app_options
def check(environment: str | None, app_spec: str | None, app_dir: str | None) -> None:
    """Validate an environment's configuration; exit 1 with every problem if it is broken."""
    from dolmen.config import ConfigurationError
    from dolmen.units import Topology, TopologyError, UnitsSettings

    app = find_app(app_spec, app_dir)
    try:
        config = app.load_config(environment=environment)
        units = config.section("units")
        if isinstance(units, UnitsSettings):  # the deployment units fit the modules
            Topology.of(units, app.modules)
    except (ConfigurationError, TopologyError) as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    click.echo(
        f"configuration for environment {config.environment!r} is valid "
        f"({len(config.settings)} settings, files: "
        f"{', '.join(f.name for f in config.files) or 'none'})"
    )


@config_group.command("diff")
@click.argument("left")
@click.argument("right")
@app_options
def diff_command(left: str, right: str, app_spec: str | None, app_dir: str | None) -> None:
    """Compare two environments as their committed files define them.

    Lists the keys whose values differ and the keys one environment sets while
    the other keeps the default. Environment variables and secret files of this
    machine are left out. Exit 0 when they agree, 1 when they differ.
    """
    from dolmen.config.report import diff

    app = find_app(app_spec, app_dir)
    a = app.load_config(environment=left, include_process=False)
    b = app.load_config(environment=right, include_process=False)
    differences = diff(a, b)
    for difference in differences:
        click.echo(difference.describe(left, right))
    click.echo(f"{len(differences)} difference(s) between {left!r} and {right!r}")
    sys.exit(1 if differences else 0)


@config_group.command()
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
)
@app_options
def schema(output_format: str, app_spec: str | None, app_dir: str | None) -> None:
    """A reference of every setting: key, type, default, variable, description."""
    from dolmen.config.report import schema_json, schema_markdown

    app = find_app(app_spec, app_dir)
    settings = app.settings_schema()
    text = schema_json(settings) if output_format == "json" else schema_markdown(settings, app.name)
    click.echo(text, nl=False)
