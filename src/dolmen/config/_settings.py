"""The application's own settings and the loading of each module's settings."""

from __future__ import annotations

from typing import TypeVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


class AppSettings(BaseSettings):
    """Settings of the application as a whole, read from ``DOLMEN_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="DOLMEN_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database. Unset: a SQLite file ./var/<app name>.db. "
            "'postgresql://user@host/db' uses PostgreSQL (install dolmen[postgres])."
        ),
    )

    def effective_database_url(self, app_name: str) -> str:
        """The database URL to use, with the SQLite default filled in."""
        return self.database_url or f"sqlite:///./var/{app_name}.db"


def env_prefix(module: str) -> str:
    """The environment-variable prefix of a module's settings: ``DOLMEN__<MODULE>__``."""
    return f"DOLMEN__{module.upper()}__"


def load_module_settings(module: str, settings_class: type[SettingsT]) -> SettingsT:
    """Read a module's settings from ``DOLMEN__<MODULE>__<FIELD>`` variables."""
    return settings_class(_env_prefix=env_prefix(module))
