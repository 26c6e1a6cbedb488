"""Dead letters and statistics, as a Python API (``app.events``); the CLI calls the same."""

from __future__ import annotations

from collections.abc import Callable

from dolmen.events._clock import Clock, SystemClock
from dolmen.events._ports import DeliveryQueue
from dolmen.events._records import DeadLetter, HandlerStats, Selection


class EventAdmin:
    """Look at and act on an app's deliveries: ``app.events`` once the app is started.

    Dead letters are chosen by id, by handler (``billing.charge_order``), by event type
    (``orders.OrderPlaced``), or all of them; :meth:`replay` makes them pending again with
    a fresh count of tries, :meth:`discard` deletes them.
    """

    def __init__(
        self,
        queue: DeliveryQueue,
        *,
        clock: Clock | None = None,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.queue = queue
        self._clock = clock or SystemClock()
        self._wake = wake

    async def dead_letters(
        self,
        *,
        handler: str | None = None,
        event_type: str | None = None,
        limit: int | None = 100,
    ) -> list[DeadLetter]:
        """Dead deliveries, oldest first, optionally of one handler or event type."""
        selection = None
        if handler or event_type:
            selection = Selection(handler=handler, event_type=event_type)
        return await self.queue.dead_letters(selection, limit)

    async def dead_letter(self, delivery: int) -> DeadLetter | None:
        """One dead delivery with its event, error and traceback; None if there is none."""
        found = await self.queue.dead_letters(Selection(ids=(delivery,)), 1)
        return found[0] if found else None

    async def replay(
        self,
        *ids: int,
        handler: str | None = None,
        event_type: str | None = None,
        everything: bool = False,
    ) -> int:
        """Deliver dead deliveries again (tries counted from zero); returns how many."""
        count = await self.queue.replay(
            Selection(tuple(ids), handler, event_type, everything), self._clock.now()
        )
        if count and self._wake is not None:
            self._wake()
        return count

    async def discard(
        self,
        *ids: int,
        handler: str | None = None,
        event_type: str | None = None,
        everything: bool = False,
    ) -> int:
        """Delete dead deliveries for good; returns how many."""
        return await self.queue.discard(Selection(tuple(ids), handler, event_type, everything))

    async def stats(self) -> list[HandlerStats]:
        """Pending, in flight, retrying, dead and the oldest pending age, per handler.

        Each line also says how many running dispatchers have the handler: a handler
        none has is :attr:`~HandlerStats.unhandled`, its deliveries waiting for a process
        that has it (they are not dead letters).
        """
        return await self.queue.stats(self._clock.now())
