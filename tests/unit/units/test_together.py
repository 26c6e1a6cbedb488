"""Calls that come while one runs go together in the next run (a group commit)."""

from __future__ import annotations

import asyncio

import pytest

from dolmen.units._together import Together


class Recorded:
    """A run that records its items and waits for the test to let it finish."""

    def __init__(self) -> None:
        self.runs: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail: Exception | None = None

    async def __call__(self, items: list[int]) -> None:
        self.runs.append(items)
        await self.release.wait()
        if self.fail is not None:
            raise self.fail


async def turns() -> None:
    """Let the tasks started so far reach their wait."""
    for _ in range(3):
        await asyncio.sleep(0)


async def test_calls_that_come_while_one_runs_run_together_next() -> None:
    run = Recorded()
    together = Together(run, most=100)
    first = asyncio.create_task(together([1, 2]))
    await turns()
    later = [asyncio.create_task(together([n])) for n in (3, 4, 5)]
    await turns()

    run.release.set()
    await asyncio.gather(first, *later)

    assert run.runs == [[1, 2], [3, 4, 5]]


async def test_a_run_takes_whole_calls_up_to_its_most() -> None:
    run = Recorded()
    together = Together(run, most=3)
    first = asyncio.create_task(together([1]))
    await turns()
    later = [asyncio.create_task(together(items)) for items in ([2, 3], [4, 5], [6])]
    await turns()

    run.release.set()
    await asyncio.gather(first, *later)

    assert run.runs == [[1], [2, 3], [4, 5, 6]]


async def test_each_call_of_a_failed_run_raises_its_error() -> None:
    run = Recorded()
    together = Together(run, most=100)
    run.fail = ConnectionError("broker down")
    run.release.set()

    calls = [asyncio.create_task(together([n])) for n in (1, 2)]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)

    assert [type(o) for o in outcomes] == [ConnectionError, ConnectionError]


async def test_a_cancelled_caller_leaves_the_run_to_the_others() -> None:
    run = Recorded()
    together = Together(run, most=100)
    first = asyncio.create_task(together([1]))
    await turns()
    second = asyncio.create_task(together([2]))
    await turns()

    first.cancel()
    run.release.set()
    await second
    with pytest.raises(asyncio.CancelledError):
        await first

    assert run.runs == [[1], [2]]
