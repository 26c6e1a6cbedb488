"""Notifications stored with SQLAlchemy."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.notifications.adapters.tables import notifications
from shop.notifications.domain.notification import Notification


class SqlNotificationRepository:
    """Implements the notification repository on the module's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exists(self, order_id: str, kind: str) -> bool:
        """Whether this kind of notification was already sent for this order."""
        query = select(notifications.c.id).where(
            notifications.c.order_id == order_id, notifications.c.kind == kind
        )
        return (await self.session.execute(query)).first() is not None

    async def add(self, notification: Notification) -> None:
        """Store a notification."""
        await self.session.execute(
            insert(notifications).values(
                id=notification.id,
                sender=notification.sender,
                email=notification.email,
                order_id=notification.order_id,
                kind=notification.kind,
                subject=notification.subject,
            )
        )

    async def for_email(self, email: str) -> list[Notification]:
        """The notifications sent to this address, oldest first."""
        query = (
            select(notifications)
            .where(notifications.c.email == email)
            .order_by(notifications.c.seq)
        )
        return [
            Notification(r.id, r.sender, r.email, r.order_id, r.kind, r.subject)
            for r in await self.session.execute(query)
        ]
