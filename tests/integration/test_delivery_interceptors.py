"""Extensions' delivery interceptors run around every handler run, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from dolmen import App, Event, EventPublisher, Extension, Module, on, provide
from dolmen.events import DeliveryContext, Retry
from dolmen.modules import DeliveryInterceptor


class Shipped(Event, name="shipping.Shipped", subject="order_id"):
    order_id: str


class Shipping:
    def __init__(self, events: EventPublisher) -> None:
        self.events = events

    def ship(self, order_id: str) -> None:
        self.events.publish(Shipped(order_id=order_id))


class Tally:
    """A service of orders: asking for it gives the handler a unit of work."""

    def __init__(self) -> None:
        self.closed: list[str] = []


log: list[str] = []


async def close_order(event: Shipped, tally: Tally) -> None:
    log.append(f"close_order {event.order_id}")


async def tell_customer(event: Shipped, context: DeliveryContext) -> None:
    log.append(f"tell_customer {event.order_id} try {context.attempt}")
    if context.attempt == 1:
        raise RuntimeError("the mail server is down")


class Recording(Extension):
    """Records each delivery it sees, before and after the handler, and what it raised."""

    def __init__(self, name: str) -> None:
        self.name = name

    def delivery_interceptors(self) -> Sequence[DeliveryInterceptor]:
        async def around(context: DeliveryContext, proceed: Callable[[], Awaitable[None]]) -> None:
            log.append(f"{self.name} enters {context.handler} try {context.attempt}")
            try:
                await proceed()
            except RuntimeError as error:
                log.append(f"{self.name} saw {error}")
                raise
            log.append(f"{self.name} leaves {context.handler}")

        return [around]


async def test_delivery_interceptors_wrap_each_handler_run_first_extension_outermost(
    database_url: str,
) -> None:
    log.clear()
    shipping = Module("shipping", providers=[provide(Shipping)])
    orders = Module(
        "orders",
        listens_to=["shipping"],
        providers=[provide(Tally)],
        handlers=[close_order, on(Shipped, tell_customer, retry=Retry(attempts=2, base=0.0))],
    )
    app = App(
        "t",
        [shipping, orders],
        config={"app": {"database_url": database_url}},
        extensions=[Recording("outer"), Recording("inner")],
    )
    async with app.running():
        async with app.unit_of_work("shipping") as work:
            (await work.get(Shipping)).ship("A-1")
        await app.drain_events(within=30)
    closing = [line for line in log if "close_order" in line]
    assert closing == [
        "outer enters orders.close_order try 1",
        "inner enters orders.close_order try 1",
        "close_order A-1",
        "inner leaves orders.close_order",
        "outer leaves orders.close_order",
    ]
    telling = [line for line in log if "tell_customer" in line or "saw" in line]
    assert telling == [
        "outer enters orders.tell_customer try 1",
        "inner enters orders.tell_customer try 1",
        "tell_customer A-1 try 1",
        "inner saw the mail server is down",
        "outer saw the mail server is down",
        "outer enters orders.tell_customer try 2",
        "inner enters orders.tell_customer try 2",
        "tell_customer A-1 try 2",
        "inner leaves orders.tell_customer",
        "outer leaves orders.tell_customer",
    ]
