"""``DashboardSettings``: ``[observability.dashboard]`` of the configuration."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class DashboardSettings(BaseModel):
    """``[observability.dashboard]`` (``DOLMEN__OBSERVABILITY__DASHBOARD__<KEY>``).

    The dashboard answers on loopback only (a client at 127.0.0.1 or ::1, with no proxy in
    between) unless a ``token`` is set; replaying or discarding dead letters outside the
    ``dev`` environment needs the token too.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="Serve the dashboard at path.")
    path: str = Field(
        default="/_dolmen",
        pattern=r"^/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?$",
        description="Where the dashboard is served; every path below it is the dashboard's.",
    )
    token: SecretStr | None = Field(
        default=None,
        description=(
            "Opens the dashboard to clients off loopback (open the path with ?token=..., or "
            "send Authorization: Bearer ...); needed to replay or discard outside dev."
        ),
    )
    sample_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often the metrics are sampled for the dashboard's rates and percentiles.",
    )
    window_minutes: int = Field(
        default=15,
        ge=1,
        le=240,
        description="How many minutes of samples the dashboard keeps (its longest window).",
    )

    @field_validator("path")
    @classmethod
    def _without_trailing_slash(cls, path: str) -> str:
        return path.rstrip("/")
