"""The orders module's use cases."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, Field

from dolmen import EventPublisher
from shop.catalog.api import CatalogService, StockRequest
from shop.kernel import Email
from shop.orders.api import OrderPlaced
from shop.orders.domain.order import MAX_LINES, Order, OrderLine, OrderNotFound
from shop.orders.domain.ports import OrderRepository


class PlaceOrder(BaseModel):
    """The command to place an order."""

    customer_email: Email
    items: Annotated[list[StockRequest], Field(min_length=1, max_length=MAX_LINES)]


class OrderService:
    """Places orders and records what billing says about them."""

    def __init__(
        self, orders: OrderRepository, catalog: CatalogService, events: EventPublisher
    ) -> None:
        self.orders = orders
        self.catalog = catalog
        self.events = events

    async def place_order(self, command: PlaceOrder) -> Order:
        """Reserve the items through the catalog, store the order, publish OrderPlaced.

        Raises UnknownProduct, InsufficientStock or OrderTooLarge (the total is known once
        the items are priced). The reservation carries the order's id: in one process the
        caller's unit of work rolls it back with the order; with catalog in another unit,
        OrderPlaced confirms it, and one whose order never commits expires.
        """
        order_id = str(uuid.uuid4())
        reserved = await self.catalog.reserve(command.items, order_id)
        lines = [OrderLine(r.sku, r.quantity, r.unit_price) for r in reserved]
        order = Order.place(order_id, command.customer_email, lines)
        await self.orders.add(order)
        self.events.publish(
            OrderPlaced(order_id=order.id, customer_email=order.customer_email, total=order.total)
        )
        return order

    async def get(self, order_id: str) -> Order:
        """The order with this id; raises OrderNotFound."""
        order = await self.orders.get(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    async def mark_paid(self, order_id: str) -> None:
        """Billing captured the payment."""
        order = await self.get(order_id)
        order.mark_paid()
        await self.orders.save_status(order)

    async def mark_payment_failed(self, order_id: str, reason: str) -> None:
        """Billing could not charge the customer: record it and give the stock back."""
        order = await self.get(order_id)
        order.mark_payment_failed(reason)
        if order.changed:
            await self.catalog.release(order.id)  # its reservation: given back once
        await self.orders.save_status(order)
