"""The notifications module's settings: ``[notifications]``, ``DOLMEN__NOTIFICATIONS__<KEY>``."""

from pydantic import Field
from pydantic_settings import BaseSettings


class NotificationSettings(BaseSettings):
    """Who the customer's messages come from."""

    sender_name: str = Field(
        default="Dolmen Shop",
        min_length=1,
        max_length=100,
        description="The name customers see as the sender of their notifications.",
    )
