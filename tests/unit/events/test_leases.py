"""Leases: a crashed dispatcher's deliveries come back, a running handler keeps its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from dolmen.events import Dispatcher, InMemoryDeliveryStore, Retry
from dolmen.events._records import LEASE_EXPIRED

from .conftest import HANDLERS, FakeClock, FakeRunner, publish, step

BILLING = "billing.charge"
LEASE = 30.0


async def test_a_delivery_left_by_a_crashed_dispatcher_is_delivered_once_its_lease_runs_out(
    store: InMemoryDeliveryStore,
    clock: FakeClock,
    runner: FakeRunner,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    dispatcher = make_dispatcher(lease_seconds=LEASE)
    await publish(store, clock, "o1")
    [taken] = await store.claim("crashed", HANDLERS, 10, clock.now(), LEASE)
    assert taken.attempts == 1

    assert await step(dispatcher, runner) == []
    clock.advance(LEASE - 1)
    assert await step(dispatcher, runner) == []  # still leased to "crashed"

    clock.advance(6)
    assert await step(dispatcher, runner) == [(BILLING, "o1", 2)]  # the crashed try counts
    assert await store.unsettled() == 0


async def test_a_delivery_whose_last_try_crashed_is_dead_with_the_lease_expired_reason(
    store: InMemoryDeliveryStore,
    clock: FakeClock,
    runner: FakeRunner,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    dispatcher = make_dispatcher({BILLING: Retry(attempts=2, base=1.0, cap=1.0)})
    runner.fail(BILLING, "o1")
    await publish(store, clock, "o1", max_attempts=2)
    assert await step(dispatcher, runner) == [(BILLING, "o1", 1)]
    clock.advance(1.001)
    [taken] = await store.claim("crashed", HANDLERS, 10, clock.now(), LEASE)  # the last try
    assert taken.attempts == 2

    clock.advance(LEASE + 1)
    assert await step(dispatcher, runner) == []

    [dead] = await store.dead_letters(None, None)
    assert (dead.attempts, dead.error, dead.traceback) == (2, LEASE_EXPIRED, None)
    assert dead.failed_at == clock.now()
    assert await store.unsettled() == 0


async def test_a_running_handler_keeps_its_lease_past_the_original_expiry(
    store: InMemoryDeliveryStore,
    clock: FakeClock,
    runner: FakeRunner,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    dispatcher = make_dispatcher(lease_seconds=LEASE)
    gate = runner.hold(BILLING, "o1")
    await publish(store, clock, "o1")
    await dispatcher.tick()
    await asyncio.sleep(0)
    assert runner.tries == [(BILLING, "o1", 1)]  # the handler is running, held open

    clock.advance(20)
    await dispatcher.tick()  # renews the lease
    clock.advance(15)  # 35 s after the claim: the first lease would be over

    assert await store.reap(clock.now()) == 0
    assert await store.claim("other", HANDLERS, 10, clock.now(), LEASE) == []

    gate.set()
    await dispatcher.idle()
    assert runner.tries == [(BILLING, "o1", 1)]
    assert await store.unsettled() == 0  # completed by its holder
