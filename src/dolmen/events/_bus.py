"""In-process delivery of committed events to their handlers.

This first transport runs each handler as an asyncio task in the publishing
process, after the publishing unit of work commits. It is not durable: an
event whose handler fails, or that is in flight when the process dies, is
lost (the failure is logged). The durable outbox keeps this API.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from dolmen.events._event import Event

if TYPE_CHECKING:
    from dolmen.modules._module import Subscription

logger = logging.getLogger(__name__)

HandlerRunner = Callable[["Subscription", Event], Awaitable[None]]


class InProcessEventBus:
    """Schedules each committed event's handlers and keeps track of them."""

    def __init__(self, subscriptions: Sequence[Subscription], run: HandlerRunner) -> None:
        self._run = run
        self._by_name: dict[str, list[Subscription]] = defaultdict(list)
        for subscription in subscriptions:
            self._by_name[subscription.event_type.event_name].append(subscription)
        self._tasks: set[asyncio.Task[None]] = set()
        self.failures = 0

    def subscribers(self, event: Event) -> list[Subscription]:
        """The handlers that will receive ``event``."""
        return list(self._by_name.get(event.event_name, ()))

    def dispatch(self, events: Sequence[Event]) -> None:
        """Start one task per (event, handler); each handler runs in its own unit of work."""
        for event in events:
            for subscription in self._by_name.get(event.event_name, ()):
                task = asyncio.get_running_loop().create_task(
                    self._deliver(subscription, event), name=f"dolmen:{subscription.name}"
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _deliver(self, subscription: Subscription, event: Event) -> None:
        try:
            await self._run(subscription, event)
        except Exception:
            self.failures += 1
            logger.exception(
                "handler %s failed on %s; the event is dropped (in-process delivery)",
                subscription.name,
                event.event_name,
            )

    async def drain(self) -> None:
        """Wait until no handler is running, including those that later events start."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
