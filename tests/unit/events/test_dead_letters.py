"""Dead letters: replayed with a fresh count of tries, or discarded, as selected."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dolmen.events import Dispatcher, InMemoryDeliveryStore, NonRetryable
from dolmen.events._records import Selection

from .conftest import FakeClock, FakeRunner, publish, step

BILLING, MAIL = "billing.charge", "mail.notify"
PLACED, CANCELLED = "orders.OrderPlaced", "orders.OrderCancelled"


def poison() -> Exception:
    return NonRetryable("unreadable")


async def test_a_replayed_dead_letter_is_delivered_again_from_its_first_try(
    store: InMemoryDeliveryStore,
    clock: FakeClock,
    runner: FakeRunner,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    dispatcher = make_dispatcher()
    runner.fail(BILLING, "o1", poison, times=1)
    await publish(store, clock, "o1")
    await step(dispatcher, runner)
    [dead] = await store.dead_letters(None, None)

    assert await store.replay(Selection(ids=(dead.id,)), clock.now()) == 1

    assert await store.dead_letters(None, None) == []
    [stats] = await store.stats(clock.now())
    assert (stats.pending, stats.retrying, stats.dead) == (1, 0, 0)  # attempts back to 0
    assert await step(dispatcher, runner) == [(BILLING, "o1", 1)]
    assert await store.unsettled() == 0


@pytest.fixture
async def four_dead(
    store: InMemoryDeliveryStore,
    clock: FakeClock,
    runner: FakeRunner,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    """Dead deliveries of o1 (OrderPlaced) and o2 (OrderCancelled) to BILLING and MAIL."""
    for handler in (BILLING, MAIL):
        for label in ("o1", "o2"):
            runner.fail(handler, label, poison)
    await publish(store, clock, "o1", to=(BILLING, MAIL), event_type=PLACED)
    await publish(store, clock, "o2", to=(BILLING, MAIL), event_type=CANCELLED)
    await step(make_dispatcher(), runner)
    assert len(await store.dead_letters(None, None)) == 4


async def dead(store: InMemoryDeliveryStore) -> list[tuple[str, str]]:
    return [(d.handler, d.event_type) for d in await store.dead_letters(None, None)]


@pytest.mark.usefixtures("four_dead")
async def test_discard_deletes_the_dead_letters_matching_every_criterion(
    store: InMemoryDeliveryStore,
) -> None:
    assert await store.discard(Selection(handler=BILLING, event_type=CANCELLED)) == 1
    assert await dead(store) == [(BILLING, PLACED), (MAIL, PLACED), (MAIL, CANCELLED)]

    assert await store.discard(Selection(handler=MAIL)) == 2
    assert await dead(store) == [(BILLING, PLACED)]

    assert await store.discard(Selection(everything=True)) == 1
    assert await dead(store) == []
    assert await store.unsettled() == 0


@pytest.mark.usefixtures("four_dead")
async def test_replay_by_event_type_leaves_the_other_dead_letters_dead(
    store: InMemoryDeliveryStore, clock: FakeClock
) -> None:
    assert await store.replay(Selection(event_type=PLACED), clock.now()) == 2

    assert await dead(store) == [(BILLING, CANCELLED), (MAIL, CANCELLED)]
    assert await store.unsettled() == 2


@pytest.mark.usefixtures("four_dead")
async def test_dead_letters_of_a_handler_come_oldest_first_up_to_the_limit(
    store: InMemoryDeliveryStore,
) -> None:
    letters = await store.dead_letters(Selection(handler=MAIL), 1)

    assert [(d.handler, d.event_type) for d in letters] == [(MAIL, PLACED)]
    assert letters[0].error == "NonRetryable: unreadable"


@pytest.mark.parametrize(
    "selection",
    [{}, {"handler": ""}, {"ids": ()}, {"everything": False}],
)
def test_a_selection_must_say_which_dead_letters(selection: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="say which dead letters"):
        Selection(**selection)  # type: ignore[arg-type]
