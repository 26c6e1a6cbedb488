"""An app on the in-memory outbox keeps the promises of the SQL one, within its process."""

from __future__ import annotations

import pytest

from dolmen.events import EventBackend, InMemoryDeliveryStore

from .ledger_app import Behaviour, Ledger, Tally, make_app


async def test_events_are_kept_on_commit_dropped_on_rollback_and_delivered_once(
    database_url: str,
) -> None:
    store = InMemoryDeliveryStore()
    behaviour = Behaviour()
    behaviour.fail_first["count:ada"] = 1  # its first try's row is rolled back with it
    app = make_app(database_url, behaviour, event_backend=EventBackend.in_memory(store))
    async with app.running():
        with pytest.raises(RuntimeError, match="changed my mind"):
            async with app.unit_of_work("ledger") as work:
                await (await work.get(Ledger)).deposit("bob", 1)
                raise RuntimeError("changed my mind")
        assert await store.unsettled() == 0  # the rollback published nothing
        async with app.unit_of_work("ledger") as work:
            await (await work.get(Ledger)).deposit("ada", 2)
        await app.drain_events(retries=True)
        async with app.unit_of_work("tally", write=False) as work:
            counted = await (await work.get(Tally)).rows("count")
    assert [(account, amount) for _, account, amount in counted] == [("ada", 2)]
    assert behaviour.tries["count:ada"] == 2
    assert await store.stats(0.0) == []  # every delivery done


async def test_apps_sharing_an_in_memory_outbox_each_run_their_own_handlers(
    database_url: str,
) -> None:
    store = InMemoryDeliveryStore()
    publisher = make_app(
        database_url, Behaviour(), event_backend=EventBackend.in_memory(store), dispatch=False
    )
    async with publisher.running():
        async with publisher.unit_of_work("ledger") as work:
            await (await work.get(Ledger)).deposit("ada", 2)
        [count, ordered] = await publisher.events.stats()
        assert (count.pending, count.unhandled, ordered.unhandled) == (1, True, True)
        worker = make_app(database_url, Behaviour(), event_backend=EventBackend.in_memory(store))
        async with worker.running():
            await worker.drain_events()
        assert await store.stats(0.0) == []
