"""Dispatchers sharing an outbox claim only their own handlers' deliveries; the rest wait."""

from __future__ import annotations

from dolmen.events import Dispatcher, EventSettings, HandlerStats, InMemoryDeliveryStore, Retry

from .conftest import FakeClock, FakeRunner, publish, step

BILLING, MAIL = "billing.charge", "mail.notify"


def dispatcher_of(
    handlers: tuple[str, ...], store: InMemoryDeliveryStore, clock: FakeClock, runner: FakeRunner
) -> Dispatcher:
    """A dispatcher, as in a process whose app has only ``handlers``."""
    retries = {name: Retry() for name in handlers}
    return Dispatcher(
        store, runner, retries, EventSettings(), clock=clock, owner="+".join(handlers)
    )


async def test_a_delivery_for_a_handler_no_process_has_waits_and_shows_as_unhandled(
    store: InMemoryDeliveryStore, clock: FakeClock, runner: FakeRunner
) -> None:
    billing_only = dispatcher_of((BILLING,), store, clock, runner)
    await publish(store, clock, "o1", to=(BILLING, MAIL))
    clock.advance(7)

    assert await step(billing_only, runner) == [(BILLING, "o1", 1)]
    assert await step(billing_only, runner) == []
    assert await store.dead_letters(None, None) == []  # not dead: waiting for its handler
    [mail] = await store.stats(clock.now())
    assert mail == HandlerStats(MAIL, 1, 0, 0, 0, oldest_pending_age=7.0, dispatchers=0)
    assert mail.unhandled

    mail_too = dispatcher_of((BILLING, MAIL), store, clock, runner)
    assert await step(mail_too, runner) == [(MAIL, "o1", 1)]  # a try, its first
    assert await store.stats(clock.now()) == []


async def test_stats_count_the_running_dispatchers_of_each_handler(
    store: InMemoryDeliveryStore, clock: FakeClock, runner: FakeRunner
) -> None:
    both = dispatcher_of((BILLING, MAIL), store, clock, runner)
    billing_only = dispatcher_of((BILLING,), store, clock, runner)
    runner.hold(BILLING, "o1")
    runner.hold(MAIL, "o1")
    await publish(store, clock, "o1", to=(BILLING, MAIL))
    await both.tick()  # it holds both deliveries, and says which handlers it runs
    await billing_only.tick()

    assert [(s.handler, s.in_flight, s.dispatchers) for s in await store.stats(clock.now())] == [
        (BILLING, 1, 2), (MAIL, 1, 1),
    ]  # fmt: skip
    await billing_only.stop()
    assert [s.dispatchers for s in await store.stats(clock.now())] == [1, 1]
    clock.advance(31)  # past the lease: "both" was killed without a word, say
    assert [s.dispatchers for s in await store.stats(clock.now())] == [0, 0]


async def test_drain_waits_only_for_the_deliveries_of_its_own_handlers(
    store: InMemoryDeliveryStore, clock: FakeClock, runner: FakeRunner
) -> None:
    billing_only = dispatcher_of((BILLING,), store, clock, runner)
    await publish(store, clock, "o1", to=(BILLING, MAIL))
    billing_only.start()
    try:
        await billing_only.drain(within=10)
    finally:
        await billing_only.stop()

    assert runner.tries == [(BILLING, "o1", 1)]
    assert await store.next_due([BILLING]) is None
    assert await store.next_due() == clock.now()  # mail's, waiting
