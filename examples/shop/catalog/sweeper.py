"""Gives back, every ``[catalog] sweep_seconds``, the stock of expired reservations."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from dolmen import App
from shop.catalog.service import Catalog
from shop.catalog.settings import CatalogSettings

logger = logging.getLogger(__name__)


class ReservationSweeper:
    """A background task of the process running the catalog (one per process)."""

    def __init__(self, settings: CatalogSettings) -> None:
        self.settings = settings
        self.task: asyncio.Task[None] | None = None

    async def sweep(self, app: App) -> int:
        """Release the expired reservations now, in a unit of work; how many there were."""
        async with app.unit_of_work("catalog") as work:
            return await (await work.get(Catalog)).release_expired()

    async def _run(self, app: App) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_seconds)
            try:
                await self.sweep(app)
            except Exception:  # a database hiccup: the next sweep tries again
                logger.exception("giving back expired reservations failed")


async def start_sweeping(app: App, sweeper: ReservationSweeper) -> None:
    """The catalog's start-up hook."""
    sweeper.task = asyncio.create_task(sweeper._run(app), name="catalog reservation sweeper")


async def stop_sweeping(sweeper: ReservationSweeper) -> None:
    """The catalog's shutdown hook."""
    if sweeper.task is not None:
        sweeper.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper.task
        sweeper.task = None
