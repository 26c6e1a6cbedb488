"""Find the application a command works on: ``--app``, or ``[tool.dolmen]`` in pyproject.toml."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dolmen._pyproject import tool_dolmen
from dolmen.cli._loading import load_app

if TYPE_CHECKING:
    from dolmen.modules import App

F = TypeVar("F", bound=Callable[..., Any])


def app_options(command: F) -> F:
    """Add ``--app`` and ``--app-dir`` to a command."""
    command = click.option(
        "--app-dir",
        default=None,
        type=click.Path(file_okay=False),
        help="Folder put first on the import path. Default: [tool.dolmen] app-dir, or '.'.",
    )(command)
    return click.option(
        "--app",
        "app_spec",
        default=None,
        metavar="APP",
        help="The app as 'package.module:attribute'. Default: [tool.dolmen] app in pyproject.toml.",
    )(command)


def find_app(app_spec: str | None, app_dir: str | None) -> App:
    """Load the App named on the command line or in ``./pyproject.toml``."""
    return find_named_app(app_spec, app_dir)[0]


def find_named_app(app_spec: str | None, app_dir: str | None) -> tuple[App, str]:
    """Like :func:`find_app`, with the ``package.module:attribute`` it was found by."""
    from dolmen.modules import App

    project = _tool_dolmen(Path("pyproject.toml"))
    spec = app_spec or project.get("app")
    if not spec:
        raise click.UsageError(
            "which app? pass --app package.module:attribute, or set app = '...' under "
            "[tool.dolmen] in pyproject.toml"
        )
    target = load_app(str(spec), app_dir or str(project.get("app-dir", ".")))
    if not isinstance(target, App):
        raise click.ClickException(f"{spec} is a {type(target).__name__}, not a dolmen.App")
    return target, str(spec)


def _tool_dolmen(path: Path) -> dict[str, object]:
    try:
        return tool_dolmen(path)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
