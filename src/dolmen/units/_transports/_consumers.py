"""The background tasks of one subscription, one per partition, and how they stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

logger = logging.getLogger("dolmen.units")


class Consumers:
    """The tasks consuming one destination's partitions: a :class:`Subscription`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: list[asyncio.Task[None]] = []
        self._on_stop: list[Callable[[], Awaitable[None]]] = []

    def run(self, work: Coroutine[Any, Any, None], label: str) -> None:
        """Run ``work`` in the background until :meth:`stop`; a crash is logged."""
        task = asyncio.get_running_loop().create_task(work, name=f"dolmen:{self.name}:{label}")
        task.add_done_callback(self._crashed)
        self._tasks.append(task)

    def on_stop(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run ``step`` after the tasks stopped (release leases, cancel consumers...)."""
        self._on_stop.append(step)

    async def stop(self) -> None:
        """Cancel the tasks (a batch being processed is not acknowledged), then clean up."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        steps, self._on_stop = self._on_stop, []
        for step in steps:
            with contextlib.suppress(Exception):
                await step()

    def _crashed(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "the consumer %s stopped on an error", task.get_name(), exc_info=task.exception()
            )
