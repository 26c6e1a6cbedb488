"""The real clock's wait: it ends when its event is set, or says it was not after its time,
and it waits in the waiting task itself (no task of its own per wait)."""

from __future__ import annotations

import asyncio

import pytest

from dolmen.events import SystemClock


async def test_a_wait_for_an_event_already_set_is_true_at_once() -> None:
    event = asyncio.Event()
    event.set()
    assert await SystemClock().wait(event, 60.0) is True


async def test_a_wait_of_no_time_for_an_event_nobody_sets_is_false() -> None:
    assert await SystemClock().wait(asyncio.Event(), 0.0) is False
    assert await SystemClock().wait(asyncio.Event(), -1.0) is False


async def test_a_wait_ends_when_its_event_is_set_and_starts_no_task() -> None:
    event = asyncio.Event()
    before = asyncio.all_tasks()
    waiting = asyncio.get_running_loop().create_task(SystemClock().wait(event, 3600.0))
    for _ in range(5):
        await asyncio.sleep(0)  # the wait is under way
    assert asyncio.all_tasks() == before | {waiting}
    event.set()
    assert await waiting is True


async def test_a_cancelled_wait_is_cancelled_not_timed_out() -> None:
    waiting = asyncio.get_running_loop().create_task(SystemClock().wait(asyncio.Event(), 3600.0))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
