"""The catalog module's event handlers: what it does when an order is placed."""

from shop.catalog.service import Catalog
from shop.orders.api import OrderPlaced


async def confirm_reservation(event: OrderPlaced, catalog: Catalog) -> None:
    """The order is committed: the stock reserved for it (under its id) stays taken."""
    await catalog.confirm(event.order_id)
