"""Apps with different modules on one database: each delivers its own handlers' events."""

from __future__ import annotations

from dolmen import App

from .ledger_app import Ledger
from .shared_outbox_app import make_app, seen_accounts


async def deposit(app: App, *accounts: str) -> None:
    async with app.unit_of_work("ledger") as work:
        for account in accounts:
            await (await work.get(Ledger)).deposit(account, 1)


async def test_a_process_delivers_only_its_handlers_and_the_rest_wait_for_theirs(
    database_url: str,
) -> None:
    front = make_app(database_url, ["audit", "tally"], dispatch=False)  # publishes for both
    audit_worker = make_app(database_url, ["audit"])
    async with front.running(), audit_worker.running():
        await deposit(front, "ada", "bob")
        await audit_worker.drain_events()
        assert sorted(await seen_accounts(audit_worker, "audit")) == ["ada", "bob"]

        assert await front.events.dead_letters() == []  # tally's deliveries are not dead
        [tally] = await front.events.stats()
        assert tally.handler == "tally.count_deposit"
        assert (tally.pending, tally.in_flight, tally.dead, tally.dispatchers) == (2, 0, 0, 0)
        assert tally.unhandled
        assert tally.oldest_pending_age is not None

        tally_worker = make_app(database_url, ["tally"])
        async with tally_worker.running():
            await tally_worker.drain_events()
            assert sorted(await seen_accounts(tally_worker, "tally")) == ["ada", "bob"]
        assert await front.events.stats() == []
        assert await front.events.dead_letters() == []
        assert sorted(await seen_accounts(front, "audit")) == [
            "ada",
            "bob",
        ]  # each handler ran once


async def test_a_stopped_process_no_longer_counts_as_having_its_handlers(
    database_url: str,
) -> None:
    front = make_app(database_url, ["audit", "tally"], dispatch=False)
    worker = make_app(database_url, ["audit", "tally"])
    async with front.running():
        async with worker.running():
            await deposit(front, "ada")
            await worker.drain_events()
        await deposit(front, "bob")
        stats = {s.handler: (s.pending, s.dispatchers) for s in await front.events.stats()}
    assert stats == {"audit.note_deposit": (1, 0), "tally.count_deposit": (1, 0)}
