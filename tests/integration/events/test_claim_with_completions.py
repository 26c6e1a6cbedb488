"""A claim records the completions of the dispatcher's earlier runs with it (one round trip on
PostgreSQL): they are done, and the next delivery of their subject is free to go."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from dolmen.events import OUTBOX_TABLES

from .ledger_app import Behaviour, make_app
from .test_durable_events import deposit

ORDERED = ["tally.ordered_deposit"]
deliveries = OUTBOX_TABLES.metadata.tables["dolmen.dolmen__deliveries"]


async def test_a_claim_completes_what_it_is_given_and_takes_the_next_of_their_subject(
    database_url: str,
) -> None:
    app = make_app(database_url, Behaviour(), dispatch=False)
    async with app.running():
        await deposit(app, "ada", 1)
        await deposit(app, "ada", 2)
        queue = app.events.queue
        [first] = await queue.claim("worker", ORDERED, 10, time.time(), 30.0)
        assert await queue.claim("worker", ORDERED, 10, time.time(), 30.0) == []  # in order
        [second] = await queue.claim("worker", ORDERED, 10, time.time(), 30.0, [first.id])
        assert second.id > first.id  # its subject's earlier delivery completed with the claim
        assert app.database is not None
        async with app.database.engine.connect() as connection:
            ids = select(deliveries.c.id).where(deliveries.c.handler == ORDERED[0])
            assert list((await connection.scalars(ids)).all()) == [second.id]


@pytest.mark.parametrize("kept", [0.0, 3600.0], ids=["deleted", "kept"])
async def test_completions_given_to_a_claim_that_takes_nothing_are_recorded(
    database_url: str, kept: float
) -> None:
    app = make_app(database_url, Behaviour(), dispatch=False, keep_completed_seconds=kept)
    async with app.running():
        await deposit(app, "ada", 1)
        queue = app.events.queue
        [first] = await queue.claim("worker", ORDERED, 10, time.time(), 30.0)
        assert await queue.claim("worker", ORDERED, 10, time.time(), 30.0, [first.id]) == []
        assert app.database is not None
        async with app.database.engine.connect() as connection:
            handler = deliveries.c.handler == ORDERED[0]
            statuses = select(deliveries.c.status).where(handler)
            assert list((await connection.scalars(statuses)).all()) == (["done"] if kept else [])
