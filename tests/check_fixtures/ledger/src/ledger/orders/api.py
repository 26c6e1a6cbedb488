"""The orders module's public contract: the events it publishes."""

from dolmen import Event


class OrderPlaced(Event, version=1):
    """An order was placed."""

    order_id: str
    total: int


class OrderCancelled(Event, version=1):
    """An order was cancelled before it was paid."""

    order_id: str
