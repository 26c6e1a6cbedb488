"""An idle dispatcher runs a retry when it falls due, not at its next poll.

The loop runs on a :class:`VirtualClock`: its waits take no real time, and the test reads
the virtual time at which each try ran.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from dolmen.events import Dispatcher, EventSettings, InMemoryDeliveryStore, Retry
from dolmen.events._records import Claimed

from .conftest import START, FakeRunner, VirtualClock, label_of, publish

BILLING = "billing.charge"


def on_time(waited: float, *, due: float) -> bool:
    """Whether a retry due ``due`` seconds after the failure ran then, or up to 50 ms later.

    (Virtual times are seconds since the epoch: their differences are rounded to 0.1 us.)
    """
    return due - 1e-6 <= waited <= due + 0.05


class LongestJitter(random.Random):
    """Jitter that always draws the longest wait, so the retry's due time is known."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.mark.parametrize(
    ("hinted", "woken", "poll_min_seconds"),
    [(True, True, 0.001), (False, True, 1.0), (False, False, 1.0)],
    ids=["hinted", "polling-once-a-second-woken-by-a-commit", "polling-once-a-second"],
)
async def test_an_idle_dispatcher_runs_a_retry_due_in_200_ms_within_50_ms_of_it(
    store: InMemoryDeliveryStore,
    runner: FakeRunner,
    hinted: bool,
    woken: bool,
    poll_min_seconds: float,
) -> None:
    """Hinted: commits of every process wake it (NOTIFY, wake sockets), so it polls only for
    retries and missed hints, backing off to 1 s. Polling: it looks at the outbox once a
    second, events flowing or not (``poll_min_seconds=1``)."""
    clock = VirtualClock()
    ran_at: list[float] = []
    retried = asyncio.Event()

    async def run(claimed: Claimed) -> bool:
        ran_at.append(clock.now())
        if len(ran_at) == 2:
            retried.set()
        return await runner(claimed)

    retries = {BILLING: Retry(attempts=3, base=0.2, cap=0.2)}  # the retry: 0.2 s after
    settings = EventSettings(poll_min_seconds=poll_min_seconds, poll_max_seconds=1.0)
    dispatcher = Dispatcher(
        store, run, retries, settings, clock=clock, owner="here", rng=LongestJitter()
    )
    dispatcher.hinted = hinted
    runner.fail(BILLING, "o1", times=1)
    dispatcher.start()
    try:
        await asyncio.wait_for(clock.reach(START + 10), 10)  # idle for 10 virtual seconds
        assert clock.waits[-1].seconds == 1.0  # backed off to poll_max_seconds
        await publish(store, clock, "o1")
        if woken:
            dispatcher.hint()  # as a commit in this process does
        await asyncio.wait_for(retried.wait(), 10)
    finally:
        await dispatcher.stop()

    assert runner.tries == [(BILLING, "o1", 1), (BILLING, "o1", 2)]
    failed_at, retried_at = ran_at
    assert on_time(retried_at - failed_at, due=0.2)


class ScriptedJitter(random.Random):
    """Jitter that draws the given waits, in turn."""

    def __init__(self, *waits: float) -> None:
        super().__init__()
        self.waits = list(waits)

    def uniform(self, a: float, b: float) -> float:
        return self.waits.pop(0)


async def test_each_retry_scheduled_here_runs_on_time_not_only_the_earliest(
    store: InMemoryDeliveryStore, runner: FakeRunner
) -> None:
    clock = VirtualClock()
    ran_at: dict[str, list[float]] = {"o1": [], "o2": []}
    retried = asyncio.Event()

    async def run(claimed: Claimed) -> bool:
        ran_at[label_of(claimed)].append(clock.now())
        if all(len(times) == 2 for times in ran_at.values()):
            retried.set()
        return await runner(claimed)

    retries = {BILLING: Retry(attempts=3, base=1.0, cap=1.0)}
    dispatcher = Dispatcher(
        store, run, retries, EventSettings(), clock=clock, owner="here",
        rng=ScriptedJitter(0.2, 0.3),
    )  # fmt: skip
    dispatcher.hinted = True
    runner.fail(BILLING, "o1", times=1)
    runner.fail(BILLING, "o2", times=1)
    dispatcher.start()
    try:
        await asyncio.wait_for(clock.reach(START + 10), 10)  # idle: polls 1 s apart
        await publish(store, clock, "o1")
        await publish(store, clock, "o2")
        dispatcher.hint()
        await asyncio.wait_for(retried.wait(), 10)
    finally:
        await dispatcher.stop()

    waits = sorted(second - first for first, second in ran_at.values())
    assert on_time(waits[0], due=0.2)
    assert on_time(waits[1], due=0.3)  # the later one was not forgotten once the first ran


async def test_an_event_held_back_for_order_runs_as_soon_as_the_one_before_it_is_done(
    store: InMemoryDeliveryStore, runner: FakeRunner
) -> None:
    clock = VirtualClock()
    ran_at: dict[str, float] = {}
    both = asyncio.Event()

    async def run(claimed: Claimed) -> bool:
        ran_at[label_of(claimed)] = clock.now()
        if len(ran_at) == 2:
            both.set()
        return await runner(claimed)

    dispatcher = Dispatcher(
        store,
        run,
        {BILLING: Retry()},
        EventSettings(),
        clock=clock,
        owner="here",
        ordered=[BILLING],
    )
    dispatcher.hinted = True
    dispatcher.start()
    try:
        await asyncio.wait_for(clock.reach(START + 10), 10)  # idle: polls 1 s apart
        for label in ("o1", "o2"):  # one after the other for their subject
            await publish(store, clock, label, subject="cart-1", ordered=[BILLING])
        dispatcher.hint()
        await asyncio.wait_for(both.wait(), 10)
    finally:
        await dispatcher.stop()

    assert runner.tries == [(BILLING, "o1", 1), (BILLING, "o2", 1)]
    assert on_time(ran_at["o2"] - ran_at["o1"], due=0.0)  # not at the next poll, 1 s later
