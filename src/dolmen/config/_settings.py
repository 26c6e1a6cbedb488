"""The application's own settings (section ``[app]``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AppSettings(BaseModel):
    """Settings of the application as a whole: ``[app]`` in ``dolmen.toml``.

    Set them in ``dolmen.toml``, as ``DOLMEN__APP__<KEY>``, or in code with
    ``App(config={"app": {...}})``. ``DOLMEN_DATABASE_URL`` is kept as a short
    name for ``DOLMEN__APP__DATABASE_URL``.
    """

    model_config = ConfigDict(extra="forbid")

    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database. Unset: a SQLite file ./var/<app name>.db. "
            "'postgresql://user@host/db' uses PostgreSQL (install dolmen[postgres])."
        ),
    )
    database_schema: Literal["check", "migrate", "create"] = Field(
        default="check",
        description=(
            "What start-up does with the database schema. 'check': change nothing, and refuse "
            "to start unless every module's migrations are applied (run 'dolmen db upgrade'). "
            "'migrate': apply the missing migrations at start-up, one process at a time. "
            "'create': create missing tables from the modules' declarations, without "
            "migrations: for development and tests only."
        ),
    )
    db_pool_size: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Database connections kept open. Unset: 20 for a SQLite file (each is a driver "
            "thread), SQLAlchemy's 5 for PostgreSQL."
        ),
    )
    db_max_overflow: int | None = Field(
        default=None,
        ge=0,
        description=(
            "Connections opened beyond db_pool_size under load, closed when returned. Unset: "
            "20 for a SQLite file, SQLAlchemy's 10 for PostgreSQL."
        ),
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=0,
        description=(
            "Largest HTTP request body accepted, in bytes (default 1 MiB). A larger body is "
            "refused with 413 before it is read whole: at once when its Content-Length says "
            "so, else as soon as the bytes received pass the limit."
        ),
    )
    gc_freeze: bool = Field(
        default=True,
        description=(
            "Once the app has started, move the objects alive then out of the garbage "
            "collector's full passes (gc.freeze(), once per process): they take about 2 ms "
            "instead of 40 ms. false leaves the collector alone."
        ),
    )
    secrets_dir: str | None = Field(
        default=None,
        description=(
            "Folder with one file per secret, named like billing__api_key. Unset: "
            "/run/secrets. A relative path is relative to the configuration folder."
        ),
    )

    def effective_database_url(self, app_name: str) -> str:
        """The database URL to use, with the SQLite default filled in."""
        return self.database_url or f"sqlite:///./var/{app_name}.db"
