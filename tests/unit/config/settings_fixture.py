"""Settings classes shared by the configuration tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings

from dolmen.config import AppSettings, Secret


class Gateway(BaseModel):
    """A nested group of settings."""

    timeout_s: float = 2.0
    token: SecretStr | None = None


class Billing(BaseSettings):
    """A module's settings."""

    charge_limit: Decimal = Field(default=Decimal("1000.00"), gt=0, description="Max charge.")
    retries: int = 3
    api_key: Annotated[str, Secret()] = "dev-key"
    gateway: Gateway = Gateway()


class Mailer(BaseModel):
    """Settings with a required key."""

    sender: str


SCHEMA: dict[str, type[BaseModel]] = {"app": AppSettings, "billing": Billing}


class Vault(BaseModel):
    """A secret whose value can be invalid."""

    pin: Annotated[int, Secret()]
