"""``dolmen new project`` and ``dolmen new module``: start a project or a module the right way."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group("new")
def new_group() -> None:
    """Write a new project, or add a module to this one."""


@new_group.command("project")
@click.argument("name")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--dolmen-source",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="A checkout of Dolmen that the project's scripts install instead of the released "
    "package (the default of its DOLMEN_SOURCE).",
)
def new_project(name: str, directory: Path | None, dolmen_source: Path | None) -> None:
    """Write the project NAME into DIRECTORY (default ./NAME): one module, tests, scripts, CI.

    Exit 2, writing nothing, if NAME cannot be a package or DIRECTORY is not empty.
    """
    from dolmen.scaffold import ScaffoldError, create_project

    try:
        project = create_project(name, directory, dolmen_source=dolmen_source)
    except ScaffoldError as error:
        _refuse(error)
    where = _shown(project.root)
    click.echo(f"wrote project {name!r} in {where}/ ({len(project.files)} files)")
    click.echo(
        "next:\n"
        f"  cd {where}\n"
        f"  ./scripts/run     # set up .venv, migrate, serve {project.app_spec} on port 8000\n"
        "  ./scripts/test    # set up .venv, run ruff, mypy, dolmen check, db check, the tests\n"
        "  dolmen new module NAME   # add a module (in that folder)"
    )


@new_group.command("module")
@click.argument("name")
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path(),
    show_default=True,
    help="The project's folder: its pyproject.toml names the app under [tool.dolmen].",
)
def new_module(name: str, project_dir: Path) -> None:
    """Add the module NAME to the project, with its tests, and list it in the app.

    Exit 2, writing nothing, if NAME is not a valid module name or is taken; exit 1 if the
    module was written but the app's list of modules could not be edited (the message says
    what to add).
    """
    from dolmen.scaffold import RegistrationError, ScaffoldError, add_module

    try:
        module = add_module(name, project_dir)
    except RegistrationError as error:
        click.echo(f"wrote module {name!r} ({len(error.files)} files), but: {error}", err=True)
        sys.exit(1)
    except ScaffoldError as error:
        _refuse(error)
    package = _shown(module.project.package_dir / name)
    click.echo(f"wrote module {name!r} in {package}/ and its tests; added it to the app")
    click.echo(
        f"  {_shown(module.project.app_file)}: modules=[..., {name}]\n"
        f"  GET /{name} answers once the app runs\n"
        f"  its migrations: dolmen db revision --module {name} -m '...' --autogenerate, once "
        "it has a table"
    )


def _refuse(error: Exception) -> None:
    click.echo(f"Error: {error}", err=True)
    sys.exit(2)


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd())) or "."
    except ValueError:
        return str(path)
