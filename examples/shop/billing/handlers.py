"""The billing module's event handlers: it charges every order placed."""

from shop.billing.service import BillingService
from shop.orders.api import OrderPlaced


async def charge_order(event: OrderPlaced, billing: BillingService) -> None:
    """An order was placed: charge the customer."""
    await billing.charge_order(event.order_id, event.customer_email, event.total)
