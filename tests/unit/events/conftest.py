"""Fakes for driving the dispatcher step by step: clocks, an outbox in memory, a runner."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from dolmen.events import (
    Claimed,
    Dispatcher,
    Envelope,
    EventSettings,
    InMemoryDeliveryStore,
    NewDelivery,
    Retry,
    SystemClock,
)
from dolmen.events._envelope import new_event_id

START = 1_700_000_000.0
"""The fake clock's first reading (seconds since the epoch)."""

HANDLERS = ("billing.charge", "mail.notify", "shipping.ship")
"""The handlers the tests' dispatchers have."""

Try = tuple[str, str, int]
"""One run of a handler as the fake runner saw it: (handler, event label, attempt)."""


class FakeClock:
    """A clock that moves only when the test says so (its waits take real time)."""

    def __init__(self, start: float = START) -> None:
        self.time = start

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        return await SystemClock().wait(event, seconds)


SETTLE_TURNS = 20
"""Turns of the event loop a virtual wait gives the other tasks before time moves on."""


@dataclass(frozen=True)
class Wait:
    """One wait of the dispatcher's loop on a :class:`VirtualClock`."""

    at: float
    """The virtual time it began."""
    seconds: float


class VirtualClock(FakeClock):
    """A clock whose time moves only while the dispatcher's loop waits on it, at once.

    Each wait first lets the other tasks (handlers, the test) run what they can at this
    virtual time: a few turns of the event loop are enough, since nothing here waits for
    real (the in-memory store, the fake runner). Then it ends at once if it was woken
    meanwhile, or else moves the time to its end. ``waits`` records every wait.
    """

    def __init__(self, start: float = START) -> None:
        super().__init__(start)
        self.waits: list[Wait] = []
        self._moved = asyncio.Event()

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        self.waits.append(Wait(self.time, seconds))
        for _ in range(SETTLE_TURNS):
            await asyncio.sleep(0)
        if event.is_set():
            return True
        self.time += seconds
        self._moved.set()
        return False

    async def reach(self, when: float) -> None:
        """Return once the loop's waits have taken the time to ``when``."""
        while self.time < when:
            self._moved.clear()
            await self._moved.wait()


@dataclass
class _Failure:
    error: Callable[[], Exception]
    times: int | None  # None: every time


@dataclass
class FakeRunner:
    """The dispatcher's ``run``: records each try, fails or waits as the test told it.

    It returns False, like a handler that did not touch the database, so the dispatcher
    records the completion itself.
    """

    tries: list[Try] = field(default_factory=list)
    cancelled: list[Try] = field(default_factory=list)
    tried: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once a handler has been called."""
    _failures: dict[tuple[str, str], _Failure] = field(default_factory=dict)
    _gates: dict[tuple[str, str], asyncio.Event] = field(default_factory=dict)

    def fail(
        self,
        handler: str,
        label: str,
        error: Callable[[], Exception] = lambda: RuntimeError("boom"),
        *,
        times: int | None = None,
    ) -> None:
        """Make ``handler`` raise ``error()`` on event ``label`` (``times`` times, or always)."""
        self._failures[handler, label] = _Failure(error, times)

    def hold(self, handler: str, label: str) -> asyncio.Event:
        """Keep ``handler`` running on event ``label`` until the returned event is set."""
        gate = self._gates[handler, label] = asyncio.Event()
        return gate

    async def __call__(self, claimed: Claimed) -> bool:
        attempt = (claimed.handler, label_of(claimed), claimed.attempts)
        self.tries.append(attempt)
        self.tried.set()
        gate = self._gates.get(attempt[:2])
        if gate is not None:
            try:
                await gate.wait()
            except asyncio.CancelledError:
                self.cancelled.append(attempt)
                raise
        failure = self._failures.get(attempt[:2])
        if failure is not None and failure.times != 0:
            if failure.times is not None:
                failure.times -= 1
            raise failure.error()
        return False


def label_of(claimed: Claimed) -> str:
    """The label the test gave the claimed delivery's event."""
    return str(json.loads(claimed.envelope.data)["label"])


async def publish(
    store: InMemoryDeliveryStore,
    clock: FakeClock,
    label: str,
    to: Iterable[str] = ("billing.charge",),
    *,
    event_type: str = "orders.OrderPlaced",
    subject: str | None = None,
    ordered: Iterable[str] = (),
    max_attempts: int = 3,
) -> Envelope:
    """Write an event labelled ``label`` and one delivery per handler in ``to``, now."""
    envelope = Envelope(
        id=new_event_id(),
        type=event_type,
        version=1,
        source="/shop/orders",
        time=clock.now(),
        data=json.dumps({"label": label}),
        subject=subject,
    )
    keyed = set(ordered)
    deliveries = [
        NewDelivery(
            envelope.id, handler, event_type, max_attempts, subject if handler in keyed else None
        )
        for handler in to
    ]
    await store.append(None, [envelope], deliveries)
    return envelope


async def step(dispatcher: Dispatcher, runner: FakeRunner) -> list[Try]:
    """One tick of the dispatcher, then wait for its handlers; returns the tries it made."""
    before = len(runner.tries)
    await dispatcher.tick()
    await dispatcher.idle()
    return runner.tries[before:]


@pytest.fixture(autouse=True)
def seeded_random() -> Iterator[None]:
    """Make the dispatcher's jitter (drawn from ``random``) the same on every run."""
    state = random.getstate()
    random.seed(20240601)
    yield
    random.setstate(state)


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at START."""
    return FakeClock()


@pytest.fixture
def store() -> InMemoryDeliveryStore:
    """An empty in-memory outbox."""
    return InMemoryDeliveryStore()


@pytest.fixture
def runner() -> FakeRunner:
    """A runner whose handlers all succeed until told otherwise."""
    return FakeRunner()


@pytest.fixture
def make_dispatcher(
    store: InMemoryDeliveryStore, clock: FakeClock, runner: FakeRunner
) -> Callable[..., Dispatcher]:
    """Build a dispatcher on the store, clock and runner: ``make_dispatcher(retries, **settings)``.

    It runs the HANDLERS (``retries`` gives some their retry policy); its owner is
    ``"here"``; settings default to EventSettings' own (a 30 s lease).
    """

    def build(retries: Mapping[str, Retry] | None = None, **settings: Any) -> Dispatcher:
        handlers = {name: Retry() for name in HANDLERS} | dict(retries or {})
        return Dispatcher(
            store, runner, handlers, EventSettings(**settings), clock=clock, owner="here"
        )

    return build
