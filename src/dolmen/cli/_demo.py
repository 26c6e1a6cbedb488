"""The demo: find the example shop next to the sources, seed it, serve it."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

import dolmen
from dolmen.modules import App


def examples_dir() -> Path:
    """The ``examples/`` folder of the source checkout Dolmen runs from."""
    candidates = [Path(dolmen.__file__).resolve().parents[2] / "examples", Path.cwd() / "examples"]
    for candidate in candidates:
        if (candidate / "shop" / "app.py").is_file():
            return candidate
    raise click.ClickException(
        "the example shop ships with Dolmen's source checkout, and none was found; "
        "clone the repository and run 'dolmen demo' from it"
    )


def load_shop() -> App:
    """Import the shop's composition root and build the app."""
    folder = str(examples_dir())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    # The demo is a development set-up: the shop's tables are created at start-up.
    app: App = importlib.import_module("shop.app").create_app(
        {"app": {"database_schema": "create"}}
    )
    return app


async def seed_shop(app: App) -> None:
    """Start the shop once and add the demo products it does not have yet."""
    seed = importlib.import_module("shop.seed")
    await app.start(serving=False)  # the server starts it again
    try:
        added = await seed.seed_products(app)
    finally:
        await app.stop()
    if added:
        click.echo(f"Seeded products: {', '.join(added)}")
