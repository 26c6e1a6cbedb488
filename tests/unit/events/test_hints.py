"""A hint (new events committed) that arrives while a claim is on its way is not lost: the
next round claims at once, without first looking whether anything is due."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import pytest

from dolmen.events import Claimed, Dispatcher, InMemoryDeliveryStore

from .conftest import FakeClock, FakeRunner, publish


class WatchedStore(InMemoryDeliveryStore):
    """The in-memory outbox, noting its looks and claims; ``after_claim`` runs once, after one."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.after_claim: Callable[[], Any] | None = None

    async def next_due(self, handlers: Collection[str] | None = None) -> float | None:
        self.calls.append("look")
        return await super().next_due(handlers)

    async def claim(
        self,
        owner: str,
        handlers: Collection[str],
        limit: int,
        now: float,
        lease: float,
        completed: Sequence[int] = (),
    ) -> list[Claimed]:
        self.calls.append("claim")
        claimed = await super().claim(owner, handlers, limit, now, lease, completed)
        if self.after_claim is not None:
            after, self.after_claim = self.after_claim, None
            await after()
        return claimed


@pytest.fixture
def store() -> WatchedStore:
    """The outbox of the dispatchers ``make_dispatcher`` builds."""
    return WatchedStore()


async def test_a_hint_during_a_claim_that_found_nothing_is_claimed_at_once(
    make_dispatcher: Callable[..., Dispatcher],
    store: WatchedStore,
    clock: FakeClock,
    runner: FakeRunner,
) -> None:
    dispatcher = make_dispatcher()
    dispatcher.hinted = True

    async def committed_meanwhile() -> None:  # after the claim read the outbox
        await publish(store, clock, "late")
        dispatcher.hint()

    store.after_claim = committed_meanwhile
    assert await dispatcher.tick() == (0, 200)
    assert await dispatcher.tick() == (1, 200)
    await dispatcher.idle()
    assert store.calls == ["claim", "claim"]  # no look in between
    assert [(handler, label) for handler, label, _ in runner.tries] == [("billing.charge", "late")]


async def test_without_a_hint_a_claim_that_found_nothing_is_followed_by_a_look(
    make_dispatcher: Callable[..., Dispatcher],
    store: WatchedStore,
    clock: FakeClock,
    runner: FakeRunner,
) -> None:
    dispatcher = make_dispatcher()
    assert await dispatcher.tick() == (0, 200)
    assert await dispatcher.tick() == (0, 200)
    assert store.calls == ["claim", "look"]  # a look is a read; a claim a write
    await publish(store, clock, "later")
    assert await dispatcher.tick() == (1, 200)
    await dispatcher.idle()
    assert store.calls == ["claim", "look", "look", "claim"]
    assert [label for _, label, _ in runner.tries] == ["later"]
