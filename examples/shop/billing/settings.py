"""The billing module's settings (``DOLMEN__BILLING__<NAME>``)."""

from decimal import Decimal

from pydantic import Field
from pydantic_settings import BaseSettings


class BillingSettings(BaseSettings):
    """How the (fake) payment gateway behaves."""

    charge_limit: Decimal = Field(
        default=Decimal("1000.00"),
        gt=0,
        description="The fake gateway declines any charge above this amount.",
    )
    gateway_latency_ms: float = Field(
        default=0.0, ge=0, description="Simulated time the fake gateway takes per charge."
    )
