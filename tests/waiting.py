"""Waiting for an outcome in tests: with a generous bound, never a fixed delay."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def within(seconds: float, condition: Callable[[], bool]) -> bool:
    """Whether ``condition`` holds, checked every 10 ms for up to ``seconds``.

    Give it a bound far above what the outcome takes on a busy machine (30 s): the test
    then waits for the outcome, not for a time, and never asserts that something has not
    happened yet.
    """
    for _ in range(round(seconds * 100)):
        if condition():
            return True
        await asyncio.sleep(0.01)
    return condition()


def wait_until(condition: Callable[[], bool], what: str, seconds: float) -> None:
    """Block until ``condition`` holds, checked every 50 ms; fail naming ``what`` after ``seconds``.

    For tests that drive processes from synchronous code; the same rule as :func:`within`:
    a bound far above what the outcome takes on a busy machine.
    """
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {seconds:.0f}s")
        time.sleep(0.05)
