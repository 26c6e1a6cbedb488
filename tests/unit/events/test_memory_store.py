"""The in-memory outbox honours leases and keeps completed deliveries only when asked."""

from __future__ import annotations

from dolmen.events import InMemoryDeliveryStore

from .conftest import HANDLERS, FakeClock, publish


async def test_only_the_lease_holder_can_complete_fail_or_release_a_delivery(
    store: InMemoryDeliveryStore, clock: FakeClock
) -> None:
    await publish(store, clock, "o1")
    [claimed] = await store.claim("here", HANDLERS, 10, clock.now(), 30.0)

    assert await store.complete([claimed.id], "elsewhere", clock.now()) == 0
    await store.fail(claimed.id, "elsewhere", clock.now(), retry_at=None, error="x", traceback=None)
    await store.release([claimed.id], "elsewhere", clock.now())

    [stats] = await store.stats(clock.now())
    assert (stats.in_flight, stats.dead) == (1, 0)
    assert await store.complete([claimed.id, claimed.id], "here", clock.now()) == 1
    assert await store.unsettled() == 0


async def test_completed_deliveries_are_kept_until_purged_when_asked(clock: FakeClock) -> None:
    store = InMemoryDeliveryStore(keep_completed=True)
    await publish(store, clock, "o1")
    [claimed] = await store.claim("here", HANDLERS, 10, clock.now(), 30.0)
    await store.complete([claimed.id], "here", clock.now())

    assert await store.unsettled() == 0
    assert await store.stats(clock.now()) == []  # done deliveries are not counted
    assert await store.purge(done_before=clock.now()) == 0  # completed at now: kept
    clock.advance(1)
    assert await store.purge(done_before=clock.now()) == 1
    assert await store.purge(done_before=clock.now()) == 0


async def test_a_delivery_is_due_from_its_publish_time(
    store: InMemoryDeliveryStore, clock: FakeClock
) -> None:
    await publish(store, clock, "o1")

    assert await store.next_due() == clock.now()
    assert await store.claim("here", HANDLERS, 10, clock.now() - 1, 30.0) == []
    assert await store.unsettled(due_by=clock.now() - 1) == 0
    assert await store.unsettled() == 1


async def test_events_taken_in_from_another_unit_are_written_once_per_handler() -> None:
    from dolmen.events import Envelope, InMemoryDeliveryStore, NewDelivery

    store = InMemoryDeliveryStore()
    placed = Envelope("e1", "orders.OrderPlaced", 1, "/shop/orders", 100.0, "{}", "order-1")
    new = [
        NewDelivery("e1", "billing.charge", placed.type, 3, "order-1"),
        NewDelivery("e1", "billing.audit", placed.type, 3),
    ]

    assert await store.receive([placed], new, 100.0) == 2
    claimed = await store.claim("here", {"billing.charge", "billing.audit"}, 10, 100.0, 30.0)
    await store.complete([c.id for c in claimed], "here", 100.0)
    assert await store.receive([placed], new, 101.0) == 0  # again, after its handlers ran

    assert await store.forget_received(100.5) == 2
    assert await store.receive([placed], new[:1], 102.0) == 1  # forgotten: new again
