"""The orders module's public contract: the events it publishes."""

from __future__ import annotations

from decimal import Decimal

from dolmen import Event


class OrderPlaced(Event, version=1):
    """An order was placed and its items reserved; it waits for payment."""

    order_id: str
    customer_email: str
    total: Decimal


__all__ = ["OrderPlaced"]
