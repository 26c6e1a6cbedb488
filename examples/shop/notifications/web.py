"""The notifications module's HTTP routes (mounted under ``/notifications``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from dolmen import Inject
from shop.kernel import Email
from shop.notifications.service import NotificationService

router = APIRouter(tags=["notifications"])


class NotificationOut(BaseModel):
    """A notification sent to a customer."""

    id: str
    sender: str
    email: str
    order_id: str
    kind: str
    subject: str


@router.get("", response_model=list[NotificationOut], operation_id="list_notifications")
async def list_notifications(
    email: Annotated[Email, Query()],
    notifications: Annotated[NotificationService, Inject(NotificationService)],
) -> list[NotificationOut]:
    """The notifications sent to ``email``, oldest first."""
    return [
        NotificationOut(
            id=n.id,
            sender=n.sender,
            email=n.email,
            order_id=n.order_id,
            kind=n.kind,
            subject=n.subject,
        )
        for n in await notifications.sent_to(email)
    ]
