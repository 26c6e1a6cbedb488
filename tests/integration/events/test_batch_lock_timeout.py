"""On PostgreSQL a batch of deliveries waits at most 50 ms for a lock; the usual lock timeout
comes back before its commit only when its deliveries published events (the commit then waits
for NOTIFY's lock as any commit does), a round trip saved for the others."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Integer, event, func, insert, select

from dolmen import App, Event, EventPublisher, Module, ModuleTables, provide
from dolmen.persistence import UnitOfWork

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


def make_app(database_url: str) -> App:
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
    return App("timeouts", [source, relay, sink], config={"app": settings})


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


async def test_only_a_batch_that_published_restores_the_usual_lock_timeout_to_commit(
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
    assert "short" in seen  # batches ran
    assert seen.count("usual") >= 1  # the relay's batches published
    assert seen.count("usual") < seen.count("short")  # the sink's, which did not, kept it
