"""Deliveries of one handler claimed together run as a batch; the rest, and failures, alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dolmen.events import (
    MOST_IN_A_BATCH,
    Claimed,
    Dispatcher,
    EventSettings,
    InMemoryDeliveryStore,
    Outcome,
    Retry,
)

from .conftest import FakeClock, FakeRunner, label_of, publish, step

BILLING, MAIL = "billing.charge", "mail.notify"


@dataclass
class FakeBatchRunner:
    """Runs a batch through the single runner, as the app's does with savepoints."""

    single: FakeRunner
    batches: list[list[str]] = field(default_factory=list)
    runs_at_most: int | None = None
    """Stop after this many deliveries (a slow handler), else run them all."""
    explode: bool = False
    """Fail as a whole (nothing committed)."""

    async def __call__(self, batch: Sequence[Claimed]) -> list[Outcome]:
        self.batches.append([label_of(c) for c in batch])
        outcomes: list[Outcome] = []
        for claimed in batch[: self.runs_at_most]:
            try:
                outcomes.append(await self.single(claimed))  # False: the dispatcher records it
            except Exception as error:
                outcomes.append(error)
        if self.explode:
            raise RuntimeError("the batch's commit failed")
        return outcomes


def dispatcher_for(
    store: InMemoryDeliveryStore, clock: FakeClock, runner: FakeRunner, batch: FakeBatchRunner
) -> Dispatcher:
    handlers = {BILLING: Retry(attempts=3, base=1.0, cap=1.0), MAIL: Retry()}
    return Dispatcher(
        store, runner, handlers, EventSettings(), clock=clock, owner="here",
        run_batch=batch, batchable=[BILLING],
    )  # fmt: skip


async def test_a_batchable_handlers_deliveries_claimed_together_run_as_one_batch(
    store: InMemoryDeliveryStore, clock: FakeClock, runner: FakeRunner
) -> None:
    batch = FakeBatchRunner(runner)
    runner.fail(BILLING, "o2", times=1)
    for label in ("o1", "o2", "o3"):
        await publish(store, clock, label, to=(BILLING, MAIL))
    dispatcher = dispatcher_for(store, clock, runner, batch)

    await step(dispatcher, runner)
    assert batch.batches == [["o1", "o2", "o3"]]  # mail is not batchable: one by one
    assert sorted(t for t in runner.tries if t[0] == MAIL) == [
        (MAIL, "o1", 1), (MAIL, "o2", 1), (MAIL, "o3", 1),
    ]  # fmt: skip
    [billing] = await store.stats(clock.now())
    assert (billing.handler, billing.pending, billing.retrying) == (BILLING, 1, 1)  # o2 alone
    clock.advance(1)
    await step(dispatcher, runner)
    assert batch.batches[1:] == []  # alone: not a batch
    assert runner.tries[-1] == (BILLING, "o2", 2)
    assert await store.stats(clock.now()) == []


async def test_what_a_batch_did_not_run_runs_one_by_one(
    store: InMemoryDeliveryStore, clock: FakeClock, runner: FakeRunner
) -> None:
    batch = FakeBatchRunner(runner, runs_at_most=1)
    for label in ("o1", "o2", "o3"):
        await publish(store, clock, label)
    await step(dispatcher_for(store, clock, runner, batch), runner)

    assert batch.batches == [["o1", "o2", "o3"]]
    assert sorted(runner.tries) == [(BILLING, "o1", 1), (BILLING, "o2", 1), (BILLING, "o3", 1)]
    assert await store.stats(clock.now()) == []


async def test_a_batch_that_fails_as_a_whole_runs_each_delivery_again_alone(
    store: InMemoryDeliveryStore, clock: FakeClock, runner: FakeRunner
) -> None:
    batch = FakeBatchRunner(runner, explode=True)
    for label in ("o1", "o2"):
        await publish(store, clock, label)
    await step(dispatcher_for(store, clock, runner, batch), runner)

    assert sorted(runner.tries) == [
        (BILLING, "o1", 1),
        (BILLING, "o1", 1),
        (BILLING, "o2", 1),
        (BILLING, "o2", 1),
    ]  # in the batch (undone), then alone: the same try
    assert await store.stats(clock.now()) == []


async def test_a_batch_holds_at_most_its_limit(
    store: InMemoryDeliveryStore, clock: FakeClock, runner: FakeRunner
) -> None:
    batch = FakeBatchRunner(runner)
    for number in range(MOST_IN_A_BATCH + 1):
        await publish(store, clock, f"o{number}")
    await step(dispatcher_for(store, clock, runner, batch), runner)

    assert [len(b) for b in batch.batches] == [MOST_IN_A_BATCH]  # the last one ran alone
    assert len(runner.tries) == MOST_IN_A_BATCH + 1
