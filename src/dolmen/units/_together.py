"""Calls that arrive while one is running wait for it, then run together as one call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Together(Generic[T]):
    """Runs ``run`` on the items of several calls at once: a group commit.

    The first call runs at once; those that come while it runs wait, and then run in
    one call of ``run`` (up to about ``most`` items: whole calls are never split). Each
    call returns when its items were run, or raises what that run raised. Under load,
    one broker confirmation or one transaction then serves many calls; alone, a call
    waits for nothing.

    The runs happen in a task of their own: a caller cancelled meanwhile does not cut
    the run short for the others (its items may be run all the same).
    """

    def __init__(self, run: Callable[[list[T]], Awaitable[None]], most: int) -> None:
        self._run = run
        self.most = most
        self._waiting: list[tuple[list[T], asyncio.Future[None]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def __call__(self, items: Sequence[T]) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._waiting.append((list(items), done))
        if self._runner is None:
            self._runner = loop.create_task(self._drain(), name="dolmen:together")
        await done

    async def _drain(self) -> None:
        calls: list[tuple[list[T], asyncio.Future[None]]] = []
        try:
            while self._waiting:
                calls = self._take()
                items = [item for call_items, _ in calls for item in call_items]
                try:
                    await self._run(items)
                except Exception as error:
                    _settle(calls, error)
                else:
                    _settle(calls, None)
        finally:
            self._runner = None
            waiting, self._waiting = self._waiting, []
            for _, done in calls + waiting:  # (cancelled: the loop is closing)
                done.cancel()

    def _take(self) -> list[tuple[list[T], asyncio.Future[None]]]:
        taken, count = 0, 0
        for call_items, _ in self._waiting:
            if taken and count + len(call_items) > self.most:
                break
            taken += 1
            count += len(call_items)
        calls, self._waiting = self._waiting[:taken], self._waiting[taken:]
        return calls


def _settle(calls: list[tuple[list[T], asyncio.Future[None]]], error: Exception | None) -> None:
    for _, done in calls:
        if done.done():  # its caller was cancelled
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
