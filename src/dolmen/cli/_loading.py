"""Import the object an ``APP`` argument names (``package.module:attribute``)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from dolmen.modules import App


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
    """Start and stop ``app`` once, so a bad setting or database fails here in one line."""
    async with app.running():
        pass
