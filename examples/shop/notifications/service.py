"""The notifications module's use cases."""

from __future__ import annotations

import uuid
from decimal import Decimal

from shop.notifications.domain.notification import Notification, NotificationRepository
from shop.notifications.settings import NotificationSettings


class NotificationService:
    """Sends (here: records) one notification per paid order."""

    def __init__(
        self, notifications: NotificationRepository, settings: NotificationSettings
    ) -> None:
        self.notifications = notifications
        self.sender = settings.sender_name

    async def order_paid(self, email: str, order_id: str, amount: Decimal) -> None:
        """Tell the customer their order is paid, once."""
        if await self.notifications.exists(order_id, "order_paid"):
            return
        await self.notifications.add(
            Notification.payment_received(str(uuid.uuid4()), self.sender, email, order_id, amount)
        )

    async def sent_to(self, email: str) -> list[Notification]:
        """Every notification sent to ``email``."""
        return await self.notifications.for_email(email)
