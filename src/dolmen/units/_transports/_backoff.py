"""Waits between a consumer's attempts after an error, growing up to a cap."""

from __future__ import annotations

import asyncio


class Backoff:
    """``wait()`` sleeps ``first``, then twice as long each time up to ``cap``; ``reset()``."""

    def __init__(self, first: float = 0.1, cap: float = 5.0) -> None:
        self.first, self.cap = first, cap
        self._next = first

    async def wait(self) -> None:
        await asyncio.sleep(self._next)
        self._next = min(self._next * 2, self.cap)

    def reset(self) -> None:
        self._next = self.first
