"""The modupy peer's listening module: one listener per event, as modupy's README shows.

``on_ping`` records the latency; ``on_ping_insert`` inserts one row into ``received`` in a
session of its own, committed before it returns, then records the latency.
"""

from typing import Any

from _common import Latencies
from modulith import listener
from sqlalchemy import text

from modupy_app.contracts import Ping, PingInsert

latencies = Latencies()
sessions: Any = None  # the application's async_sessionmaker, set at start-up


@listener
async def on_ping(event: Ping) -> None:
    latencies.record(event.number, event.sent_at)


@listener
async def on_ping_insert(event: PingInsert) -> None:
    latency = latencies.record(event.number, event.sent_at)
    async with sessions() as session:
        await session.execute(
            text("INSERT INTO received (number, latency) VALUES (:number, :latency)"),
            {"number": event.number, "latency": latency},
        )
        await session.commit()
