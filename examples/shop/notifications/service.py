"""The notifications module's use cases."""

from __future__ import annotations

import uuid
from decimal import Decimal

from dolmen.events import NonRetryable
from shop.notifications.domain.notification import Notification, NotificationRepository
from shop.notifications.settings import NotificationSettings


class MailDeferred(Exception):
    """The customer's mail server asked to try again later: the delivery is retried."""


class MailRefused(NonRetryable):
    """The customer's mail server refuses the message for good: no retry helps."""


class NotificationService:
    """Sends (here: records) one notification per paid order."""

    def __init__(
        self, notifications: NotificationRepository, settings: NotificationSettings
    ) -> None:
        self.notifications = notifications
        self.sender = settings.sender_name
        self.bouncing = {d.lower() for d in settings.bouncing_domains}
        self.greylisting = {d.lower() for d in settings.greylisting_domains}

    async def order_paid(
        self, email: str, order_id: str, amount: Decimal, attempt: int = 1
    ) -> None:
        """Tell the customer their order is paid, once (``attempt``: this try's number)."""
        if await self.notifications.exists(order_id, "order_paid"):
            return
        domain = email.rpartition("@")[2].lower()
        if domain in self.bouncing:
            raise MailRefused(f"the mail server of {domain} refuses messages to {email}")
        if domain in self.greylisting and attempt == 1:
            raise MailDeferred(f"the mail server of {domain} asks to try {email} again later")
        await self.notifications.add(
            Notification.payment_received(str(uuid.uuid4()), self.sender, email, order_id, amount)
        )

    async def sent_to(self, email: str) -> list[Notification]:
        """Every notification sent to ``email``."""
        return await self.notifications.for_email(email)
