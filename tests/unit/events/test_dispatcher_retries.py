"""A failing delivery is retried on the backoff schedule, then dead; some errors at once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dolmen.events import Dispatcher, InMemoryDeliveryStore, NonRetryable, Retry

from .conftest import FakeClock, FakeRunner, publish, step

BILLING = "billing.charge"


async def test_a_failed_delivery_is_retried_only_once_its_retry_time_has_come(
    store: InMemoryDeliveryStore,
    clock: FakeClock,
    runner: FakeRunner,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    retry = Retry(attempts=3, base=10.0, cap=60.0)
    dispatcher = make_dispatcher({BILLING: retry})
    runner.fail(BILLING, "o1", times=1)
    await publish(store, clock, "o1", max_attempts=3)

    assert await step(dispatcher, runner) == [(BILLING, "o1", 1)]
    retry_at = await store.next_due()
    assert retry_at is not None
    assert clock.now() + 0.01 < retry_at <= clock.now() + retry.ceiling(1)

    clock.advance(retry_at - clock.now() - 0.01)
    assert await step(dispatcher, runner) == []  # not yet

    clock.advance(0.02)
    assert await step(dispatcher, runner) == [(BILLING, "o1", 2)]
    assert await store.unsettled() == 0  # the second try succeeded: done


async def test_each_claim_counts_a_try_and_the_last_failure_is_dead_with_its_traceback(
    store: InMemoryDeliveryStore,
    clock: FakeClock,
    runner: FakeRunner,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    dispatcher = make_dispatcher({BILLING: Retry(attempts=3, base=1.0, cap=1.0)})
    runner.fail(BILLING, "o1", lambda: RuntimeError("card declined"))
    envelope = await publish(store, clock, "o1", max_attempts=3)

    tries = []
    for _ in range(3):
        died_at = clock.now()
        tries += await step(dispatcher, runner)
        clock.advance(1.001)  # past any wait: the ceiling is 1 s
    tries += await step(dispatcher, runner)

    assert tries == [(BILLING, "o1", 1), (BILLING, "o1", 2), (BILLING, "o1", 3)]
    [dead] = await store.dead_letters(None, None)
    assert (dead.handler, dead.attempts, dead.failed_at) == (BILLING, 3, died_at)
    assert dead.error == "RuntimeError: card declined"
    assert dead.traceback is not None
    assert dead.traceback.startswith("Traceback (most recent call last)")
    assert "in __call__" in dead.traceback  # where the fake handler raised
    assert dead.envelope == envelope
    assert await store.unsettled() == 0


@pytest.mark.parametrize(
    ("error", "dead"),
    [
        (lambda: KeyError("no such sku"), True),  # in the handler's give_up_on
        (lambda: NonRetryable("the order was deleted"), True),
        (lambda: ValueError("gateway hiccup"), False),  # neither: retried
    ],
)
async def test_errors_the_handler_gives_up_on_are_dead_at_the_first_failure(
    store: InMemoryDeliveryStore,
    clock: FakeClock,
    runner: FakeRunner,
    make_dispatcher: Callable[..., Dispatcher],
    error: Callable[[], Exception],
    dead: bool,
) -> None:
    dispatcher = make_dispatcher({BILLING: Retry(attempts=5, give_up_on=(KeyError,))})
    runner.fail(BILLING, "o1", error)
    await publish(store, clock, "o1", max_attempts=5)

    await step(dispatcher, runner)

    [stats] = await store.stats(clock.now())
    assert (stats.dead, stats.retrying) == ((1, 0) if dead else (0, 1))
    if dead:
        [letter] = await store.dead_letters(None, None)
        assert letter.attempts == 1
        assert letter.error.startswith(type(error()).__name__ + ":")


async def test_one_handlers_failure_does_not_hold_up_another_handler_of_the_event(
    store: InMemoryDeliveryStore,
    clock: FakeClock,
    runner: FakeRunner,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    dispatcher = make_dispatcher({BILLING: Retry(attempts=2, base=1.0, cap=1.0)})
    runner.fail(BILLING, "o1")
    await publish(store, clock, "o1", to=(BILLING, "mail.notify"), max_attempts=2)

    tries = await step(dispatcher, runner)
    clock.advance(1.001)
    tries += await step(dispatcher, runner)

    assert sorted(tries) == [(BILLING, "o1", 1), (BILLING, "o1", 2), ("mail.notify", "o1", 1)]
    [billing] = await store.stats(clock.now())  # mail.notify has nothing left: done
    assert (billing.handler, billing.dead) == (BILLING, 1)


async def test_a_completion_the_store_could_not_record_is_recorded_on_the_next_round(
    store: InMemoryDeliveryStore,
    clock: FakeClock,
    runner: FakeRunner,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    dispatcher = make_dispatcher({BILLING: Retry(attempts=1)})
    await publish(store, clock, "o1", max_attempts=1)
    complete = store.complete
    calls = 0

    async def flaky(*args: object, **kwargs: object) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("the database went away for a moment")
        return await complete(*args, **kwargs)  # type: ignore[arg-type]

    store.complete = flaky  # type: ignore[method-assign]
    await dispatcher.tick()
    with pytest.raises(ConnectionError):
        await dispatcher.idle()  # the handler succeeded; recording it failed
    await dispatcher.tick()  # the next round records it
    assert await store.unsettled() == 0
    assert await store.dead_letters(None, None) == []


def test_a_long_retry_policy_does_not_overflow() -> None:
    assert Retry(attempts=5000, base=1.0, cap=60.0).ceiling(3000) == 60.0
