"""On PostgreSQL a batch of deliveries waits at most 50 ms for a lock while its handlers run; the
usual lock timeout comes back before it completes them and commits, whether or not they
published events: its completion, and its commit (NOTIFY's lock), wait for locks as any do."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Column, Integer, event, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from dolmen import App, Event, EventPublisher, Module, ModuleTables, provide
from dolmen.events import OUTBOX_TABLES
from dolmen.modules._events import BATCH_LOCK_TIMEOUT
from dolmen.persistence import UnitOfWork

pytestmark = pytest.mark.postgres

sink_tables = ModuleTables("sink")
received = sink_tables.table(
    "received", Column("id", Integer, primary_key=True), Column("number", Integer)
)
ROW = insert(received)


class Started(Event, name="source.Started"):
    number: int


class Relayed(Event, name="relay.Relayed"):
    number: int


class Sink:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def record(self, number: int) -> None:
        await (await self.uow.connection()).execute(ROW, {"number": number})


def make_app(database_url: str, **events: object) -> App:
    source = Module("source")
    relay = Module("relay", listens_to=["source"])
    sink = Module("sink", listens_to=["relay"], providers=[provide(Sink)], tables=sink_tables)

    @relay.on(Started)
    async def relay_started(started: Started, events: EventPublisher) -> None:
        events.publish(Relayed(number=started.number))  # publishes: its batch restores it

    @sink.on(Relayed)
    async def record_relayed(relayed: Relayed, sink_service: Sink) -> None:
        await sink_service.record(relayed.number)  # writes only: its batch does not

    settings = {"database_url": database_url, "database_schema": "create"}
    config = {"app": settings, "events": dict(events)}
    return App("timeouts", [source, relay, sink], config=config)


@contextmanager
def lock_timeouts(app: App) -> Iterator[list[str]]:
    """The lock timeouts the app's connections set: ``short`` or ``usual``, in order."""
    assert app.database is not None
    engine = app.database.engine.sync_engine
    seen: list[str] = []

    def before(*args: Any) -> None:
        statement = str(args[2])
        if "set_config('lock_timeout'" in statement:
            seen.append("usual" if "reset_val" in statement else "short")

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


async def test_every_batch_restores_the_usual_lock_timeout_before_it_completes(
    postgres_url: str,
) -> None:
    app = make_app(postgres_url)
    async with app.running():
        with lock_timeouts(app) as seen:
            async with app.unit_of_work("source") as work:
                publisher = await work.get(EventPublisher)
                for number in range(5):
                    publisher.publish(Started(number=number))
            await app.drain_events()
        async with app.unit_of_work("sink", write=False) as work:
            connection = await (await work.get(UnitOfWork)).connection()
            assert await connection.scalar(select(func.count()).select_from(received)) == 5
    assert len(seen) >= 4  # the relay's batches (they published) and the sink's (they did not)
    assert seen == ["short", "usual"] * (len(seen) // 2)


deliveries = OUTBOX_TABLES.metadata.tables["dolmen.dolmen__deliveries"]
RECORD_RELAYED = "sink.record_relayed"
BLOCKED_COMPLETION = text(
    "SELECT count(*) FROM pg_stat_activity WHERE :locker = ANY(pg_blocking_pids(pid)) "
    "AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM dolmen.dolmen__deliveries%' "
    f"AND clock_timestamp() - query_start > 2 * interval '{BATCH_LOCK_TIMEOUT}'"
)
"""The batch's completion, waiting on the locker's lock for twice the batch's lock timeout."""


async def waits_past_the_batch_lock_timeout(
    observer: AsyncConnection, locker: int, batch: asyncio.Task[Any]
) -> bool:
    """Whether PostgreSQL shows the completion still waiting past 50 ms (False: it ended)."""
    for _ in range(3000):  # up to 30 s: a bound, never a wait for a time
        if batch.done():
            return False
        waiting = await observer.scalar(BLOCKED_COMPLETION, {"locker": locker})
        await observer.rollback()  # a transaction sees one snapshot of pg_stat_activity
        if waiting:
            return True
        await asyncio.sleep(0.01)
    return False


async def test_a_batch_that_published_nothing_completes_after_waiting_on_a_lock_past_50_ms(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A batch stops early after 50 ms outside the database (a slow handler's deliveries then
    # run side by side): not what this test is about, and a busy machine could pause that long.
    monkeypatch.setattr("dolmen.modules._events._SLOW_BATCH_SECONDS", 3600.0)
    app = make_app(postgres_url, dispatch=False)  # the test runs the batch itself
    async with app.running():
        async with app.unit_of_work("relay") as work:  # one batch of the sink's handler
            publisher = await work.get(EventPublisher)
            for number in range(3):
                publisher.publish(Relayed(number=number))
        events = app._started_events()
        owner = events.dispatcher.owner
        claimed = await app.events.queue.claim(owner, [RECORD_RELAYED], 10, time.time(), 300.0)
        assert len(claimed) == 3
        assert app.database is not None
        engine = app.database.engine
        async with engine.connect() as locker, engine.connect() as observer:
            # Another transaction holds the claimed rows (as another dispatcher's claim or
            # reap would): the batch's completion deletes them, so it waits for it.
            locker_pid = int(await locker.scalar(text("SELECT pg_backend_pid()")) or 0)
            held = select(deliveries.c.id).where(deliveries.c.id.in_([c.id for c in claimed]))
            assert len((await locker.execute(held.with_for_update())).all()) == 3
            batch = asyncio.get_running_loop().create_task(events.run_batch(claimed))
            try:
                waited = await waits_past_the_batch_lock_timeout(observer, locker_pid, batch)
            finally:
                await locker.rollback()  # releases the rows
            outcomes = await batch  # before the fix: LockNotAvailableError (55P03)
        assert waited
        assert outcomes == [True, True, True]
        async with engine.connect() as connection:
            numbers = await connection.scalars(select(received.c.number).order_by("number"))
            assert list(numbers) == [0, 1, 2]  # each handler's row written once
            left = await connection.scalar(select(func.count()).select_from(deliveries))
            assert left == 0  # all three completed (deleted) by the batch
        assert await app.events.dead_letters() == []
