"""On PostgreSQL a claim's own transaction commits without waiting for its WAL flush, and the
connection it ran on (lent next to the outbox's appends) stays durable at commit."""

from __future__ import annotations

import time

import pytest

from dolmen.events import _pg_outbox

from .ledger_app import Behaviour, make_app
from .test_durable_events import deposit

pytestmark = pytest.mark.postgres
HANDLERS = ["tally.ordered_deposit"]


def _claim_values() -> dict[str, object]:
    now = time.time()
    return {"owner": "worker", "limit": 10, "now": now, "until": now + 30.0, "handlers": HANDLERS}


async def test_a_claim_turns_off_the_wait_for_the_flush_of_its_own_transaction(
    postgres_url: str,
) -> None:
    app = make_app(postgres_url, Behaviour(), dispatch=False)
    async with app.running():
        await deposit(app, "ada", 1)
        assert app.database is not None
        async with app.database.driver() as driver, driver.transaction():
            assert await driver.fetchval("SHOW synchronous_commit") == "on"
            [claimed] = await _pg_outbox.claim(driver, _claim_values(), [], False)
            assert claimed.handler == HANDLERS[0]
            assert await driver.fetchval("SHOW synchronous_commit") == "off"


async def test_the_connection_of_a_claim_commits_durably_after_it(postgres_url: str) -> None:
    app = make_app(postgres_url, Behaviour(), dispatch=False)
    async with app.running():
        await deposit(app, "ada", 1)
        await deposit(app, "ada", 2)
        assert app.database is not None
        async with app.database.driver() as driver:
            [first] = await _pg_outbox.claim(driver, _claim_values(), [], False)
            assert await driver.fetchval("SHOW synchronous_commit") == "on"
            [second] = await _pg_outbox.claim(driver, _claim_values(), [first.id], False)
            assert second.id > first.id  # the completion recorded with it freed its subject
            assert await driver.fetchval("SHOW synchronous_commit") == "on"
