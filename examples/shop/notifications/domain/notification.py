"""A message sent to a customer."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class Notification:
    """One message to one customer about one order."""

    id: str
    sender: str
    email: str
    order_id: str
    kind: str
    subject: str

    @classmethod
    def payment_received(
        cls, notification_id: str, sender: str, email: str, order_id: str, amount: Decimal
    ) -> Notification:
        """The message a customer gets once their order is paid."""
        return cls(
            notification_id,
            sender,
            email,
            order_id,
            "order_paid",
            f"We received your payment of {amount} for order {order_id}",
        )


class NotificationRepository(Protocol):
    """Stores sent notifications."""

    async def exists(self, order_id: str, kind: str) -> bool:
        """Whether this kind of notification was already sent for this order."""
        ...

    async def add(self, notification: Notification) -> None:
        """Store a notification."""
        ...

    async def for_email(self, email: str) -> list[Notification]:
        """The notifications sent to this address, oldest first."""
        ...
