"""The notifications module's event handlers: it tells customers what happened."""

from shop.billing.api import PaymentCaptured
from shop.notifications.service import NotificationService


async def notify_order_paid(event: PaymentCaptured, notifications: NotificationService) -> None:
    """Billing captured a payment: tell the customer."""
    await notifications.order_paid(event.customer_email, event.order_id, event.amount)
