"""A delivery whose lease ran out mid-run and that another process took over: effects once.

Two apps on one database stand for two processes. Their dispatchers are driven a tick at a
time on a clock the test moves: the first claims, its handler is held up (a starved
process), the clock passes the lease, the second takes the delivery over and runs it to the
end; then the first goes on, finds its lease gone when it records the completion, and rolls
its effects back. Whatever ran where, each deposit is counted once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from dolmen import App
from dolmen.events import Dispatcher, SystemClock

from .ledger_app import Behaviour, Gate, make_app
from .test_batched_deliveries import deposit_together
from .test_durable_events import rows

LEASE = 30.0
START = 1_700_000_000.0
TAKEN_OVER = "was taken over after its lease ran out"
BOUND = 30.0  # seconds: far above what a step takes on a busy machine


class Clock:
    """A clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.time = START

    def now(self) -> float:
        return self.time

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        return await SystemClock().wait(event, seconds)


@pytest.fixture
def behaviour() -> Behaviour:
    return Behaviour()


@pytest.fixture
async def apps(database_url: str, behaviour: Behaviour) -> AsyncIterator[tuple[App, App]]:
    """Two processes of the ledger app on one database, their dispatchers not running."""
    first = make_app(database_url, behaviour, dispatch=False, lease_seconds=LEASE)
    second = make_app(database_url, behaviour, dispatch=False, lease_seconds=LEASE)
    async with first.running(), second.running():
        yield first, second


def dispatcher(app: App, clock: Clock) -> Dispatcher:
    """The app's dispatcher, on the test's clock (it is driven with ``tick``)."""
    found = app._started_events().dispatcher
    found.clock = clock
    return found


def lost_leases(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if TAKEN_OVER in r.getMessage()]


@pytest.mark.parametrize("after_writing", [False, True], ids=["before-writing", "after-writing"])
@pytest.mark.parametrize("taker_first", [True, False], ids=["taker-ends-first", "slow-ends-first"])
async def test_a_handler_whose_delivery_was_taken_over_mid_run_rolls_its_effects_back(
    apps: tuple[App, App],
    behaviour: Behaviour,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
    after_writing: bool,
    taker_first: bool,
) -> None:
    if after_writing and database_url.startswith("sqlite"):
        pytest.skip("on SQLite a handler that wrote holds the write lock: none can take over")
    first, second = apps
    clock = Clock()
    starved, other = dispatcher(first, clock), dispatcher(second, clock)
    slow, taking = (  # the two handlers' first tries (the slow ones) and second tries
        [behaviour.gates.setdefault(f"{h}:ada:{attempt}", Gate()) for h in ("count", "ordered")]
        for attempt in (1, 2)
    )
    behaviour.gate_after_writing = after_writing
    await deposit_together(first, "ada")

    await starved.tick()  # claims both handlers' deliveries; their first tries stop mid-run
    await reached(slow)
    clock.time += LEASE + 1  # the first process got no turn to renew its leases
    await other.tick()  # takes them back, claims them, runs them: they stop mid-run too
    await reached(taking)
    for gates, dispatching in [(taking, other), (slow, starved)][:: 1 if taker_first else -1]:
        for gate in gates:
            gate.opened.set()
        await dispatching.idle()

    for handler in ("count", "ordered"):
        assert [account for _, account, _ in await rows(first, handler)] == ["ada"]
        assert behaviour.tries[f"{handler}:ada"] == 2
    assert await first.events.stats() == []  # nothing left to run, nothing dead
    lost = lost_leases(caplog)
    assert len(lost) == 2
    assert all((r.levelno, r.exc_info) == (logging.WARNING, None) for r in lost)


async def reached(gates: list[Gate]) -> None:
    for gate in gates:
        await asyncio.wait_for(gate.reached.wait(), BOUND)


async def test_a_batch_whose_lease_ran_out_while_it_waited_applies_each_effect_once(
    apps: tuple[App, App], behaviour: Behaviour, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = apps
    clock = Clock()
    starved, other = dispatcher(first, clock), dispatcher(second, clock)
    await deposit_together(first, "ada", "bob")  # claimed together: a batch per handler

    slots = starved._slots  # every slot taken: the claimed batches wait in hand
    for _ in range(starved.settings.concurrency):
        await slots.acquire()
    await starved.tick()
    clock.time += LEASE + 1  # ...too long: their leases ran out
    await other.tick()
    await other.idle()
    for _ in range(starved.settings.concurrency):
        slots.release()
    await starved.idle()

    for handler in ("count", "ordered"):
        assert sorted(account for _, account, _ in await rows(first, handler)) == ["ada", "bob"]
        assert behaviour.tries[f"{handler}:ada"] == behaviour.tries[f"{handler}:bob"] == 3
    assert await first.events.stats() == []
    lost = lost_leases(caplog)
    assert lost, "the starved process should say it lost its leases"
    assert all(r.exc_info is None for r in lost), "a lost lease is expected: no traceback"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]
