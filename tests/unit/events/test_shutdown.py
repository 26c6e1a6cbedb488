"""Shutdown: a handler still running after the grace period gives its delivery back."""

from __future__ import annotations

import asyncio

from dolmen.events import Dispatcher, EventSettings, InMemoryDeliveryStore, Retry

from .conftest import HANDLERS, FakeClock, FakeRunner, publish

BILLING = "billing.charge"


async def test_stop_gives_back_a_delivery_still_running_after_the_grace_period(
    store: InMemoryDeliveryStore, clock: FakeClock, runner: FakeRunner
) -> None:
    settings = EventSettings(shutdown_grace_seconds=0.05)
    dispatcher = Dispatcher(store, runner, {BILLING: Retry()}, settings, clock=clock, owner="here")
    runner.hold(BILLING, "o1")  # never let go
    await publish(store, clock, "o1")

    dispatcher.start()
    try:
        await asyncio.wait_for(runner.tried.wait(), timeout=30)
    finally:
        await asyncio.wait_for(dispatcher.stop(), timeout=30)

    assert runner.cancelled == [(BILLING, "o1", 1)]
    [stats] = await store.stats(clock.now())
    assert (stats.pending, stats.in_flight, stats.retrying) == (1, 0, 0)  # try not counted
    [again] = await store.claim("next", HANDLERS, 10, clock.now(), 30.0)
    assert again.attempts == 1


async def test_stop_lets_a_handler_that_finishes_within_the_grace_period_complete(
    store: InMemoryDeliveryStore, clock: FakeClock, runner: FakeRunner
) -> None:
    settings = EventSettings(shutdown_grace_seconds=30)
    dispatcher = Dispatcher(store, runner, {BILLING: Retry()}, settings, clock=clock, owner="here")
    gate = runner.hold(BILLING, "o1")
    await publish(store, clock, "o1")

    dispatcher.start()
    await asyncio.wait_for(runner.tried.wait(), timeout=30)
    asyncio.get_running_loop().call_later(0.01, gate.set)  # while stop() waits for it
    await asyncio.wait_for(dispatcher.stop(), timeout=30)

    assert runner.cancelled == []
    assert await store.unsettled() == 0
