"""Where the dispatcher reads the time and waits: the real clock, or a test's."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Where the dispatcher reads the time (seconds since the epoch) and waits for it.

    Tests bring their own, to drive the dispatcher's loop in virtual time.
    """

    def now(self) -> float:
        """The current time."""
        ...

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait until ``event`` is set (True) or ``seconds`` have passed (False)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """``time.time()``."""
        return time.time()

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait on the event loop's timer, in the waiting task itself.

        (``asyncio.wait_for`` would start a task per wait on Python 3.11, and the woken
        dispatcher would resume two turns of the event loop later.)
        """
        if event.is_set():
            return True
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                await event.wait()
        except TimeoutError:
            return event.is_set()
        return True
