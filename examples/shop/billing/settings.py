"""The billing module's settings: ``[billing]`` in dolmen.toml, ``DOLMEN__BILLING__<KEY>``."""

from decimal import Decimal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings


class BillingSettings(BaseSettings):
    """How the payment gateway behaves."""

    charge_limit: Decimal = Field(
        default=Decimal("1000.00"),
        gt=0,
        description="The fake gateway declines any charge above this amount.",
    )
    gateway_latency_ms: float = Field(
        default=0.0, ge=0, description="Simulated time the fake gateway takes per charge."
    )
    gateway_api_key: SecretStr | None = Field(
        default=None,
        description="Credential of a real payment gateway (the fake gateway does not use "
        "it). Keep it in a secret file or the environment, never in dolmen.toml.",
    )
