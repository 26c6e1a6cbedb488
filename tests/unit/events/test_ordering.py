"""An ordered handler gets the events of one ordering key one at a time, in publish order."""

from __future__ import annotations

from collections.abc import Callable

from dolmen.events import Dispatcher, InMemoryDeliveryStore, Retry

from .conftest import FakeClock, FakeRunner, Try, publish, step

SHIP = "shipping.ship"  # ordered by order id (the event's subject)
MAIL = "mail.notify"  # not ordered


def of(handler: str, tries: list[Try]) -> list[str]:
    return [label for name, label, _ in tries if name == handler]


async def test_a_failure_holds_back_later_events_of_its_key_only_until_its_retry_succeeds(
    store: InMemoryDeliveryStore,
    clock: FakeClock,
    runner: FakeRunner,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    dispatcher = make_dispatcher({SHIP: Retry(attempts=5, base=10.0, cap=10.0)})
    for label in ("a1", "a2", "b1", "a3", "b2"):
        await publish(store, clock, label, to=(SHIP, MAIL), subject=label[0], ordered=[SHIP])
    runner.fail(SHIP, "a1", times=1)

    first = await step(dispatcher, runner)
    assert of(SHIP, first) == ["a1", "b1"]  # one per key; a1 fails
    assert of(MAIL, first) == ["a1", "a2", "b1", "a3", "b2"]  # unordered: all at once
    assert of(SHIP, await step(dispatcher, runner)) == ["b2"]  # key b goes on, key a waits
    assert of(SHIP, await step(dispatcher, runner)) == []

    clock.advance(10.001)  # past a1's retry time
    assert await step(dispatcher, runner) == [(SHIP, "a1", 2)]
    assert await step(dispatcher, runner) == [(SHIP, "a2", 1)]
    assert await step(dispatcher, runner) == [(SHIP, "a3", 1)]
    assert await store.unsettled() == 0


async def test_a_dead_event_no_longer_holds_back_its_key(
    store: InMemoryDeliveryStore,
    clock: FakeClock,
    runner: FakeRunner,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    dispatcher = make_dispatcher({SHIP: Retry(attempts=1)})
    for label in ("a1", "a2"):
        await publish(store, clock, label, to=[SHIP], subject="a", ordered=[SHIP], max_attempts=1)
    runner.fail(SHIP, "a1")

    assert await step(dispatcher, runner) == [(SHIP, "a1", 1)]
    assert await step(dispatcher, runner) == [(SHIP, "a2", 1)]
    assert [letter.handler for letter in await store.dead_letters(None, None)] == [SHIP]
