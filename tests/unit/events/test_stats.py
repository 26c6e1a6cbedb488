"""Statistics per handler: pending, in flight, retrying, dead, and the oldest pending age."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from dolmen.events import Dispatcher, HandlerStats, InMemoryDeliveryStore, NonRetryable, Retry

from .conftest import FakeClock, FakeRunner, publish, step

BILLING, MAIL = "billing.charge", "mail.notify"


async def test_stats_count_each_handlers_deliveries_by_where_they_stand(
    store: InMemoryDeliveryStore,
    clock: FakeClock,
    runner: FakeRunner,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    dispatcher = make_dispatcher({BILLING: Retry(attempts=3, base=1000.0, cap=1000.0)})
    runner.fail(BILLING, "o1", times=1)
    runner.fail(BILLING, "o2", lambda: NonRetryable("no such order"))
    gate = runner.hold(BILLING, "o3")

    await publish(store, clock, "o1", to=(BILLING, MAIL))  # billing: retrying
    await publish(store, clock, "o2")  # billing: dead
    await step(dispatcher, runner)
    retry_at = await store.next_due()
    assert retry_at is not None
    assert retry_at > clock.now() + 5  # o1 stays pending (not due) for the whole test
    clock.advance(3)
    await publish(store, clock, "o3", to=(BILLING, MAIL))  # billing: in flight
    await dispatcher.tick()
    await asyncio.sleep(0)
    clock.advance(2)
    await dispatcher.tick()  # records mail's completion of o3
    await publish(store, clock, "o4", to=[MAIL])  # mail: pending, just published

    assert await store.stats(clock.now()) == [
        HandlerStats(BILLING, 1, in_flight=1, retrying=1, dead=1, oldest_pending_age=5.0,
                     dispatchers=1),
        HandlerStats(MAIL, 1, in_flight=0, retrying=0, dead=0, oldest_pending_age=0.0,
                     dispatchers=1),
    ]  # fmt: skip

    gate.set()
    await dispatcher.idle()


async def test_a_handler_with_only_dead_deliveries_has_no_pending_age(
    store: InMemoryDeliveryStore,
    clock: FakeClock,
    runner: FakeRunner,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    runner.fail(BILLING, "o1", lambda: NonRetryable("no such order"))
    await publish(store, clock, "o1", to=(BILLING, MAIL))
    await step(make_dispatcher(), runner)

    assert await store.stats(clock.now()) == [HandlerStats(BILLING, 0, 0, 0, 1, None, 1)]
