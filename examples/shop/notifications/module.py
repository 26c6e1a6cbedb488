"""The notifications module's declaration."""

from dolmen import Module, provide
from shop.notifications.adapters.repository import SqlNotificationRepository
from shop.notifications.adapters.tables import tables
from shop.notifications.domain.notification import NotificationRepository
from shop.notifications.handlers import notify_order_paid
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
    handlers=[notify_order_paid],
)
