"""The notifications module's event handlers: it tells customers what happened."""

from dolmen.events import DeliveryContext
from shop.billing.api import PaymentCaptured
from shop.notifications.service import NotificationService


async def notify_order_paid(
    event: PaymentCaptured, notifications: NotificationService, delivery: DeliveryContext
) -> None:
    """Billing captured a payment: tell the customer (a retry says which try it is)."""
    await notifications.order_paid(
        event.customer_email, event.order_id, event.amount, attempt=delivery.attempt
    )
