"""Handlers declared as data are delivered like decorated ones, on SQLite and PostgreSQL."""

from __future__ import annotations

from dolmen import App, Event, EventPublisher, Module, on, provide
from dolmen.events import DeliveryContext, Retry


class Shipped(Event, name="shipping.Shipped", subject="order_id"):
    order_id: str


class Shipping:
    def __init__(self, events: EventPublisher) -> None:
        self.events = events

    def ship(self, order_id: str) -> None:
        self.events.publish(Shipped(order_id=order_id))


received: list[tuple[str, str, int]] = []


async def close_order(event: Shipped) -> None:
    received.append(("close_order", event.order_id, 0))


async def tell_customer(event: Shipped, context: DeliveryContext) -> None:
    received.append(("tell_customer", event.order_id, context.attempt))


async def test_listed_handlers_receive_each_published_event(database_url: str) -> None:
    received.clear()
    shipping = Module("shipping", providers=[provide(Shipping)])
    orders = Module(
        "orders",
        listens_to=["shipping"],
        handlers=[close_order, on(Shipped, tell_customer, retry=Retry(attempts=2), ordered=True)],
    )
    app = App("t", [shipping, orders], config={"app": {"database_url": database_url}})
    async with app.running():
        async with app.unit_of_work("shipping") as work:
            (await work.get(Shipping)).ship("A-1")
        await app.drain_events(within=30)
    assert sorted(received) == [("close_order", "A-1", 0), ("tell_customer", "A-1", 1)]
