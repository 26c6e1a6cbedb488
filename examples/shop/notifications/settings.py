"""The notifications module's settings: ``[notifications]``, ``DOLMEN__NOTIFICATIONS__<KEY>``."""

from pydantic import Field
from pydantic_settings import BaseSettings


class NotificationSettings(BaseSettings):
    """Who the customer's messages come from; which mail servers misbehave (for the demo)."""

    sender_name: str = Field(
        default="Dolmen Shop",
        min_length=1,
        max_length=100,
        description="The name customers see as the sender of their notifications.",
    )
    bouncing_domains: list[str] = Field(
        default_factory=list,
        description="E-mail domains whose mail server refuses every message: the handler "
        "fails for good and the delivery goes dead at once (dolmen demo --traffic sets one).",
    )
    greylisting_domains: list[str] = Field(
        default_factory=list,
        description="E-mail domains whose mail server defers the first try of each message: "
        "the handler fails once and its retry succeeds (dolmen demo --traffic sets one).",
    )
