"""The billing module: it charges every order placed."""

from dolmen import Module
from ledger.orders.api import OrderPlaced

module = Module("billing", listens_to=["orders"])


@module.on(OrderPlaced)
async def charge_order(event: OrderPlaced) -> None:
    """Charge the order (nothing to do in this fixture)."""
