"""What the orders domain needs from the outside world."""

from __future__ import annotations

from typing import Protocol

from shop.orders.domain.order import Order


class OrderRepository(Protocol):
    """Stores orders."""

    async def get(self, order_id: str) -> Order | None:
        """The order with this id, or None."""
        ...

    async def add(self, order: Order) -> None:
        """Store a new order."""
        ...

    async def save_status(self, order: Order) -> None:
        """Store the order's status."""
        ...
