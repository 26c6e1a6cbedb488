"""A consumer's lease renewals during a slow batch end with the batch, whatever the client does."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from dolmen.units._transports._leases import renewed

BOUND = 10.0
"""Seconds: only a failing test waits that long."""


def lease_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "dolmen:lease" and not t.done()]


async def test_renewals_end_with_the_batch_even_when_one_swallows_its_cancellation() -> None:
    on_its_way = asyncio.Event()
    answered = asyncio.Event()  # never: the renewal is under way when the batch ends
    renewals = 0

    async def renew() -> None:
        nonlocal renewals
        renewals += 1
        if renewals > 1:
            return  # answered at once
        on_its_way.set()
        # Answered just as it is cancelled: a request in asyncio.wait_for (Python 3.11)
        # returns the answer then, and nats-py's flush catches the cancellation.
        with contextlib.suppress(asyncio.CancelledError):
            await answered.wait()

    async with asyncio.timeout(BOUND):
        async with renewed(renew, every=0.01):
            await on_its_way.wait()

    assert renewals == 1  # not renewed after the batch: the lease would be held forever
    assert lease_tasks() == []


async def test_a_consumer_stopped_while_its_renewals_end_is_stopped() -> None:
    renewing = asyncio.Event()
    cancelled = asyncio.Event()
    let_go = asyncio.Event()

    async def renew() -> None:
        renewing.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            await let_go.wait()  # a renewal that takes a moment to end
            raise

    async def consume() -> None:
        async with renewed(renew, every=0):
            await renewing.wait()

    consumer = asyncio.get_running_loop().create_task(consume())
    async with asyncio.timeout(BOUND):
        await cancelled.wait()  # the batch ended; the consumer waits for its renewals to end
        consumer.cancel()  # and is stopped meanwhile (the transport closes)
        let_go.set()
        with pytest.raises(asyncio.CancelledError):
            await consumer
    assert lease_tasks() == []
