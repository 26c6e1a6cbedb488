"""The orders module's event handlers: what it does when billing has news."""

from shop.billing.api import PaymentCaptured, PaymentFailed
from shop.orders.service import OrderService


async def mark_order_paid(event: PaymentCaptured, orders: OrderService) -> None:
    """Billing captured the payment: the order is paid."""
    await orders.mark_paid(event.order_id)


async def mark_order_payment_failed(event: PaymentFailed, orders: OrderService) -> None:
    """Billing could not charge: the order's payment failed."""
    await orders.mark_payment_failed(event.order_id, event.reason)
