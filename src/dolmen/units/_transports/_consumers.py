"""The background tasks of one subscription, one per partition, and how they stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

logger = logging.getLogger("dolmen.units")
STOP_SECONDS = 10.0
"""How long stopping waits for a consumer's loop to end."""


class Consumers:
    """The tasks consuming one destination's partitions: a :class:`Subscription`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: list[asyncio.Task[None]] = []
        self.stopping = False
        """Set by :meth:`stop`: the loops end at their next turn (should a client library
        swallow their cancellation)."""
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
        self.stopping = True
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=STOP_SECONDS)
            if late:
                logger.warning("%d consumers of %s did not stop in %s s; left behind",
                               len(late), self.name, STOP_SECONDS)  # fmt: skip
        steps, self._on_stop = self._on_stop, []
        for step in steps:
            with contextlib.suppress(Exception):
                await step()

    def _crashed(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "the consumer %s stopped on an error", task.get_name(), exc_info=task.exception()
            )
