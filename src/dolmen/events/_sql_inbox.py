"""Taking in events sent by another unit, once each, in the application's database."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select

from dolmen.events._envelope import Envelope
from dolmen.events._outbox_table import INSERT, delivery_rows, received, received_marks, unseen
from dolmen.events._records import NewDelivery
from dolmen.persistence import Database


async def receive(
    database: Database, envelopes: Sequence[Envelope], new: Sequence[NewDelivery], now: float
) -> int:
    """Write the deliveries whose (event id, handler) is not in ``dolmen__received``.

    One transaction: the rows of ``dolmen__received`` and the deliveries commit together, so
    a crash before the commit leaves nothing, and a copy received after it adds nothing. Two
    processes taking in the same event at once: the second one's transaction fails on the
    primary key (nothing is written) and its copy comes back from the broker, to be found.
    """
    if not new:
        return 0
    event_ids = sorted({d.event_id for d in new})
    query = select(received.c.event_id, received.c.handler).where(
        received.c.event_id.in_(event_ids)
    )
    async with database.write_engine.begin() as connection:
        fresh = unseen(
            new, {(row.event_id, row.handler) for row in await connection.execute(query)}
        )
        if not fresh:
            return 0
        await connection.execute(insert(received), received_marks(fresh, now))
        await connection.execute(INSERT, delivery_rows(envelopes, fresh))
    return len(fresh)
