"""The demo: find the example shop next to the sources, seed it, serve it (with traffic)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sys
from pathlib import Path
from typing import Any

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


def load_shop(*, traffic: bool = False) -> App:
    """Import the shop's composition root and build the app (set for the traffic's needs)."""
    folder = str(examples_dir())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    # The demo is a development set-up: the shop's tables are created at start-up.
    config: dict[str, Any] = {"app": {"database_schema": "create"}}
    if traffic:  # some customers' mail servers misbehave: notifications retry, or go dead
        config.update(importlib.import_module("shop.traffic").DEMO_SETTINGS)
    app: App = importlib.import_module("shop.app").create_app(config)
    return app


TRAFFIC_INTERVAL = 0.5
"""Seconds between two requests of ``dolmen demo --traffic``: light, and alive at once."""


def serve_shop(app: App, host: str, port: int, *, traffic: bool = False) -> None:
    """Serve the shop; with ``traffic``, send it requests in the background while it runs."""
    import uvicorn

    if not traffic:
        uvicorn.run(app, host=host, port=port)
        return
    asyncio.run(_serve_with_traffic(uvicorn.Server(uvicorn.Config(app, host=host, port=port))))


async def _serve_with_traffic(server: Any) -> None:
    """Run the server and, once it listens, the shop's traffic over HTTP, until it stops."""
    module = importlib.import_module("shop.traffic")
    config = server.config
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host
    traffic = module.Traffic(module.http_sender(f"http://{host}:{config.port}"))

    async def generate() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.1)
        await traffic.run(interval=TRAFFIC_INTERVAL, until=lambda: server.should_exit)

    generating = asyncio.create_task(generate())
    try:
        await server.serve()
    finally:
        generating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await generating


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
