"""The notifications module's declaration and its event handler."""

from dolmen import Module, provide
from shop.billing.api import PaymentCaptured
from shop.notifications.adapters.repository import SqlNotificationRepository
from shop.notifications.adapters.tables import tables
from shop.notifications.domain.notification import NotificationRepository
from shop.notifications.service import NotificationService
from shop.notifications.settings import NotificationSettings
from shop.notifications.web import router

module = Module(
    "notifications",
    listens_to=["billing"],
    settings=NotificationSettings,
    providers=[
        provide(NotificationRepository, SqlNotificationRepository),
        provide(NotificationService),
    ],
    routers=[router],
    tables=tables,
)


@module.on(PaymentCaptured)
async def notify_order_paid(event: PaymentCaptured, notifications: NotificationService) -> None:
    """Billing captured a payment: tell the customer."""
    await notifications.order_paid(event.customer_email, event.order_id, event.amount)
