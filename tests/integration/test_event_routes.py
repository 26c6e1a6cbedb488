"""An extension's event routes: the handlers it takes get its deliveries, on both databases."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from dolmen import App, Event, EventPublisher, Extension, Module, provide
from dolmen.events import Claimed, Envelope, EventBackend, NewDelivery, Outcome, Retry
from dolmen.modules import EventRoutes, Subscription


class Shipped(Event, name="shipping.Shipped", subject="order_id"):
    order_id: str


class Shipping:
    def __init__(self, events: EventPublisher) -> None:
        self.events = events

    def ship(self, order_id: str) -> None:
        self.events.publish(Shipped(order_id=order_id))


ran: list[str] = []


async def close_order(event: Shipped) -> None:
    ran.append(f"close_order {event.order_id}")


async def tell_customer(event: Shipped) -> None:
    ran.append(f"tell_customer {event.order_id}")


async def count_shipment(event: Shipped) -> None:
    ran.append(f"count_shipment {event.order_id}")


FORWARD = "elsewhere.forward"


class Elsewhere:
    """Takes the orders module's handlers: one delivery of its own per event stands for both."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None]] = []
        self.failures = 1  # its first run fails: the dispatcher retries it

    @property
    def handlers(self) -> Mapping[str, Retry]:
        return {FORWARD: Retry(attempts=3, base=0.0)}

    def takes(self, subscription: Subscription) -> bool:
        return subscription.module == "orders"

    def deliveries(self, envelope: Envelope, taken: Sequence[Subscription]) -> list[NewDelivery]:
        assert sorted(s.name for s in taken) == ["orders.close_order", "orders.tell_customer"]
        return [NewDelivery(envelope.id, FORWARD, envelope.type, 3, envelope.subject)]

    async def run(self, claimed: Claimed) -> bool:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the broker is down")
        self.sent.append((claimed.handler, claimed.envelope.subject))
        return False

    async def run_batch(self, batch: Sequence[Claimed]) -> Sequence[Outcome]:
        return [await self.run(claimed) for claimed in batch]


class Routing(Extension):
    def __init__(self) -> None:
        self.route = Elsewhere()
        self.asked: list[EventBackend] = []

    def event_routes(self, backend: EventBackend, wake: Callable[[], None]) -> EventRoutes:
        self.asked.append(backend)
        return self.route


def shop(database_url: str, *extensions: Extension) -> App:
    ran.clear()
    shipping = Module("shipping", providers=[provide(Shipping)])
    orders = Module("orders", listens_to=["shipping"], handlers=[close_order, tell_customer])
    stats = Module("stats", listens_to=["shipping"], handlers=[count_shipment])
    config = {"app": {"database_url": database_url}}
    return App("t", [shipping, orders, stats], config=config, extensions=extensions)


async def ship(app: App, *orders: str) -> None:
    for order in orders:
        async with app.unit_of_work("shipping") as work:
            (await work.get(Shipping)).ship(order)
    await app.drain_events(within=30, retries=True)


async def test_a_route_replaces_the_handlers_it_takes_with_its_own_retried_deliveries(
    database_url: str,
) -> None:
    routing = Routing()
    app = shop(database_url, routing)
    async with app.running():
        await ship(app, "A-1", "A-2")
        assert routing.asked  # at start, with the app's event backend
        assert await app.events.dead_letters() == []
    # The handlers it took never ran here: one delivery per event went through the route
    # instead, retried after its failure, keyed by subject; the others ran as always.
    assert sorted(ran) == ["count_shipment A-1", "count_shipment A-2"]
    assert sorted(routing.route.sent) == [(FORWARD, "A-1"), (FORWARD, "A-2")]


async def test_without_a_route_every_handler_runs_here(database_url: str) -> None:
    app = shop(database_url)
    async with app.running():
        await ship(app, "A-1")
    assert sorted(ran) == ["close_order A-1", "count_shipment A-1", "tell_customer A-1"]
